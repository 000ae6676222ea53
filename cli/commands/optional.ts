// Modules other parts of the project provide and some builds lack (the conformance harness).

/**
 * Imports an absolute module URL, or returns undefined when that module is not there. The specifier is a variable so
 * that tsc does not require the module at build time.
 */
export async function importOptional(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if (isModuleNotFound(error) && String((error as Error).message).includes(url.slice(url.lastIndexOf('/') + 1))) return undefined;
    throw error;
  }
}

function isModuleNotFound(error: unknown): boolean {
  return error !== null && typeof error === 'object' && 'code' in error && error.code === 'ERR_MODULE_NOT_FOUND';
}
