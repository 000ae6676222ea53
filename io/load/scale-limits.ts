// Bounds on the work of one run, on top of the per-document LIMITS of io/load/source.ts; see docs/cli.md "Input limits".
export const SCALE_LIMITS = {
  /** Bytes of one JSON file read item by item (over the whole-file limit): a file that never ends stops here. */
  maxStreamBytes: 4 * 1024 ** 3,
  /**
   * Pod simulations of one dry-run: pods x node classes (nodes with the same facts are one class) x versions, counted
   * before any is run. At about 20,000 simulations a second on one core, the cap keeps a run under a few minutes.
   */
  maxEvaluations: 2_000_000,
  /** Nodes of a --cluster file or node list, counted after YAML aliases are expanded (Kubernetes supports 5,000). */
  maxNodes: 5_000,
  /** Profiles loaded on one node, counted after YAML aliases are expanded. */
  maxProfilesPerNode: 100_000,
  /** Files of one --profiles directory (each is compiled by apparmor_parser when it is installed). */
  maxProfileFiles: 2_000,
};
