// The observation shapes are shared with `apparmor-sim explain`: they live in sim/observation.ts.
export * from '../sim/observation.js';
