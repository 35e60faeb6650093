// A throwaway certificate authority for one test directory: a CA and a
// server certificate for localhost / 127.0.0.1 signed by it, made with the
// openssl CLI. EC P-256 keys: fast to generate and accepted everywhere
// (libcurl with OpenSSL, node:tls).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CERT_VALIDITY_DAYS = 2;
const OPENSSL_TIMEOUT_MS = 30000;

function openssl(args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: OPENSSL_TIMEOUT_MS });
}

function ecKeyArgs(keyPath) {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath];
}

/** Writes ca.crt, ca.key, server.crt and server.key into dir; returns their paths. */
export function makeCA(dir) {
  mkdirSync(dir, { recursive: true });
  const caCert = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  const serverCert = join(dir, 'server.crt');
  const serverKey = join(dir, 'server.key');
  const serverCsr = join(dir, 'server.csr');
  const extFile = join(dir, 'server.ext');

  openssl(['req', '-x509', ...ecKeyArgs(caKey), '-out', caCert, '-days', String(CERT_VALIDITY_DAYS),
    '-subj', '/CN=breakglass test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['req', '-new', ...ecKeyArgs(serverKey), '-out', serverCsr, '-subj', '/CN=localhost']);
  writeFileSync(extFile, [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    'authorityKeyIdentifier=keyid',
    '',
  ].join('\n'));
  // A random serial instead of -CAcreateserial: no serial file to share.
  openssl(['x509', '-req', '-in', serverCsr, '-CA', caCert, '-CAkey', caKey,
    '-set_serial', '0x' + randomBytes(8).toString('hex'),
    '-days', String(CERT_VALIDITY_DAYS), '-extfile', extFile, '-out', serverCert]);
  return { caCert, caKey, serverCert, serverKey };
}
