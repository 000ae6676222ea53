// Modules other parts of the project provide and some builds lack (the conformance harness).

/**
 * Runs `load` (a dynamic import of `file`), or returns undefined when that module is not there. The import is written
 * out as a literal at the call site so that the build's bundler (scripts/build.mjs) finds it and bundles it.
 */
export async function importOptional(load: () => Promise<object>, file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await load()) as Record<string, unknown>;
  } catch (error) {
    if (isModuleNotFound(error) && String((error as Error).message).includes(file.slice(file.lastIndexOf('/') + 1))) return undefined;
    throw error;
  }
}

function isModuleNotFound(error: unknown): boolean {
  return error !== null && typeof error === 'object' && 'code' in error && error.code === 'ERR_MODULE_NOT_FOUND';
}
