// The cluster file reader moved to io/load/cluster.ts (conformance/ reads cluster files too and may not import cli/).
export * from '../../io/load/cluster.js';
