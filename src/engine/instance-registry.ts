/**
 * The instances of this process that are open or opening, for the
 * compatibility API (JetBackup acts on "the" instance, as ESE's one-instance
 * mode does). Instances add themselves when opening starts and leave at close.
 */
import type { InstanceState } from './instance-state.js';

export interface RegisteredInstance {
  readonly state: InstanceState;
  readonly params: { dir: string };
}

const live = new Set<RegisteredInstance>();

export function registerInstance(i: RegisteredInstance): () => void {
  live.add(i);
  return () => { live.delete(i); };
}

export function liveInstances(): RegisteredInstance[] {
  return [...live];
}
