import type { Container, Minor, NodeFacts } from '../types.js';

/** What a runtime does with one container's AppArmor request. */
export type RuntimeApplication =
  | { ok: true; profile: string | null; detail: string }
  | { ok: false; message: string; detail: string; verified: boolean };

export interface RuntimeModel {
  name: string;
  source: string;
  /**
   * @param request the kubelet's request in annotation syntax ("" or undefined: none; "runtime/default"; "unconfined";
   *   "localhost/<name>")
   */
  apply(request: string | undefined, container: Container, node: NodeFacts, kubelet: Minor): RuntimeApplication;
}
