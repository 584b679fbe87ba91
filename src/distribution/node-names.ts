/**
 * Node names and OTP's rules for them: `name@host`, short names
 * (`erl -sname`, host without dots) and long names (`erl -name`, a fully
 * qualified host or an IP address), and which names a node may connect to.
 *
 * As in `net_kernel:create_hostpart/2` a node's own short name must have a
 * host without dots, and its name part matches `[0-9A-Za-z_-]+`. As in
 * `inet_tcp_dist:splitnode/3`, a node running long names refuses to connect
 * to a host without dots unless it is an IP address ("System running to use
 * fully qualified hostnames"), and a node running short names refuses a
 * host with dots ("System NOT running to use fully qualified hostnames").
 * Incoming connections are not checked, as in OTP.
 * @module
 */
import { isIP } from 'node:net';

/** Short names (`-sname`) or long names (`-name`), as `net_kernel:get_state/0` reports it. */
export type NameDomain = 'shortnames' | 'longnames';

/** The two parts of `name@host`; undefined when the text is not of that form. */
export function splitNodeName(node: string): { name: string; host: string } | undefined {
  const at = node.indexOf('@');
  if (at <= 0 || at === node.length - 1 || node.indexOf('@', at + 1) >= 0 || /\s/.test(node)) return undefined;
  return { name: node.slice(0, at), host: node.slice(at + 1) };
}

/** The name domain a node name implies: long when the host has a dot or is an IP address, else short. */
export function nameDomainOf(node: string): NameDomain {
  const host = splitNodeName(node)?.host ?? '';
  return host.includes('.') || isIP(host) !== 0 ? 'longnames' : 'shortnames';
}

/**
 * Checks a node's own name for its name domain. Returns the reason it is
 * not allowed, or undefined when it is fine.
 */
export function ownNameProblem(node: string, domain: NameDomain): string | undefined {
  const parts = splitNodeName(node);
  if (parts === undefined) return `node name must be name@host, got ${JSON.stringify(node)}`;
  if (!/^[0-9A-Za-z_-]+$/.test(parts.name)) return `the name part of ${JSON.stringify(node)} may hold only letters, digits, '_' and '-'`;
  if (domain === 'shortnames' && parts.host.includes('.')) return `${JSON.stringify(node)} is not a short name: its host has dots`;
  return undefined;
}

/**
 * Whether a node running `domain` may connect to `target`: undefined when
 * it may, else OTP's reason.
 */
export function connectProblem(target: string, domain: NameDomain): string | undefined {
  const parts = splitNodeName(target);
  if (parts === undefined) return `node name ${JSON.stringify(target)} is illegal`;
  const dotted = parts.host.includes('.');
  if (domain === 'longnames' && !dotted && isIP(parts.host) === 0) {
    return `System running to use fully qualified hostnames: hostname ${parts.host} is illegal`;
  }
  if (domain === 'shortnames' && dotted) return `System NOT running to use fully qualified hostnames: hostname ${parts.host} is illegal`;
  return undefined;
}
