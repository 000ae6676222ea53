// The classifier is pure and shared with `apparmor-sim explain`: it lives in sim/classify.ts.
export * from '../sim/classify.js';
