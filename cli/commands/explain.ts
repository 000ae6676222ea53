export async function runExplain(_argv: string[]): Promise<number> {
  return 3;
}
