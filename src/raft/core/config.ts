/**
 * Cluster membership: quorum arithmetic, the voter-count policy (ergo's
 * quorum sizes 3..11 by default) and single-server membership changes.
 * @module
 */
import type { ClusterConfig, PeerId } from './types.js';

/** How many voters a cluster may have. ergo's Raft allows quorums of 3, 5, 7, 9 or 11 members. */
export interface VoterPolicy {
  readonly min: number;
  readonly max: number;
}

/** The default policy: between 3 and 11 voters. */
export const defaultVoterPolicy: VoterPolicy = { min: 3, max: 11 };

/** A membership change; only one may be uncommitted at a time, and it goes through the log. */
export type MembershipChange =
  | { readonly type: 'addVoter'; readonly peer: PeerId }
  | { readonly type: 'addLearner'; readonly peer: PeerId }
  | { readonly type: 'remove'; readonly peer: PeerId };

/** A membership change or configuration that breaks the rules. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Votes needed to win an election or commit an entry. */
export function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** Checks a configuration: no duplicates, voters and learners disjoint, voter count within the policy. */
export function validateConfig(config: ClusterConfig, policy: VoterPolicy): void {
  const all = new Set<PeerId>();
  for (const p of [...config.voters, ...config.learners]) {
    if (typeof p !== 'string' || p === '') throw new ConfigError(`bad peer id ${String(p)}`);
    if (all.has(p)) throw new ConfigError(`peer ${p} listed twice`);
    all.add(p);
  }
  const n = config.voters.length;
  if (n < policy.min || n > policy.max) throw new ConfigError(`${n} voters is outside the policy ${policy.min}..${policy.max}`);
}

/** The configuration after one change. */
export function applyChange(config: ClusterConfig, change: MembershipChange, policy: VoterPolicy): ClusterConfig {
  const { peer } = change;
  const voters = config.voters.filter((p) => p !== peer);
  const learners = config.learners.filter((p) => p !== peer);
  const isVoter = config.voters.includes(peer);
  const isLearner = config.learners.includes(peer);
  let next: ClusterConfig;
  switch (change.type) {
    case 'addVoter':
      if (isVoter) throw new ConfigError(`${peer} is already a voter`);
      next = { voters: [...voters, peer], learners };
      break;
    case 'addLearner':
      if (isVoter || isLearner) throw new ConfigError(`${peer} is already a member`);
      next = { voters, learners: [...learners, peer] };
      break;
    case 'remove':
      if (!isVoter && !isLearner) throw new ConfigError(`${peer} is not a member`);
      next = { voters, learners };
      break;
  }
  validateConfig(next, policy);
  return next;
}
