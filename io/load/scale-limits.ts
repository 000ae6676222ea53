// Bounds on the work of one run, on top of the per-document LIMITS of io/load/source.ts; see docs/cli.md "Input limits".
export const SCALE_LIMITS = {
  /** Nodes of a --cluster file or node list, counted after YAML aliases are expanded (Kubernetes supports 5,000). */
  maxNodes: 5_000,
  /** Profiles loaded on one node, counted after YAML aliases are expanded. */
  maxProfilesPerNode: 100_000,
  /** Files of one --profiles directory (each is compiled by apparmor_parser when it is installed). */
  maxProfileFiles: 2_000,
};
