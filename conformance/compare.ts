// The comparison is pure and shared with `apparmor-sim explain`: it lives in sim/compare.ts.
export * from '../sim/compare.js';
