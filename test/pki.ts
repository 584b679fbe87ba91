/**
 * Test support: a throwaway PKI made with the `openssl` command line, for
 * TLS distribution tests: a CA and certificates it signs (EC P-256, SAN
 * 127.0.0.1 as an IP and as a DNS name, which Erlang's ssl checks the
 * server name indication against; localhost; this host's name), as PEM
 * files in a temp dir.
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000 }, (err, _out, stderr) => (err === null ? resolve() : reject(new Error(`openssl ${args[0]}: ${err.message} ${stderr}`))));
  });
}

/** PEM file paths of one certificate. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** The CA that signed it (trust anchor to verify peers with). */
  readonly caFile: string;
}

/** A CA that issues certificates; `remove()` deletes every file. */
export interface TestCa {
  readonly dir: string;
  readonly caFile: string;
  issue(name: string): Promise<CertFiles>;
  remove(): void;
}

/** Creates a CA named `name` in a temp directory. */
export async function createTestCa(name: string): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), `beamline-pki-${name}-`));
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.pem');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${name} test CA`], dir);
  return {
    dir,
    caFile,
    async issue(cn: string): Promise<CertFiles> {
      const keyFile = join(dir, `${cn}.key`);
      const csr = join(dir, `${cn}.csr`);
      const certFile = join(dir, `${cn}.pem`);
      const ext = join(dir, `${cn}.ext`);
      writeFileSync(ext, `subjectAltName=IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost,DNS:${hostname()}\nextendedKeyUsage=serverAuth,clientAuth\n`);
      await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${cn}`], dir);
      await openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext], dir);
      return { certFile, keyFile, caFile };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes an `-ssl_dist_optfile` for erl: mutual TLS with `files`, peers verified against their CA. */
export function writeSslDistOptfile(dir: string, name: string, files: CertFiles): string {
  const path = join(dir, `${name}.ssl_dist.conf`);
  const common = `{certfile, ${JSON.stringify(files.certFile)}}, {keyfile, ${JSON.stringify(files.keyFile)}}, {cacertfile, ${JSON.stringify(files.caFile)}}, {verify, verify_peer}, {secure_renegotiate, true}`;
  writeFileSync(path, `[{server, [${common}, {fail_if_no_peer_cert, true}]}, {client, [${common}]}].\n`);
  return path;
}
