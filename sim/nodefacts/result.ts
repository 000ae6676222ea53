// What every node-facts reader returns: the facts it could read, plus problems tied to a line of the input.
import type { LoadedProfile } from '../types.js';

export interface NodeFactsProblem {
  /** 1-based line of the input, when the problem has one. */
  line?: number | undefined;
  message: string;
}

export interface ProfileList {
  profiles: LoadedProfile[];
  errors: NodeFactsProblem[];
  warnings: string[];
}
