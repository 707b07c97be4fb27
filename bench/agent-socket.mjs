#!/usr/bin/env node
// `lanyard token` served by the engine's agent socket (issue 15, item 3) next to the keychain
// path, in the same run, against the test world on loopback, in throwaway HOMEs and the private
// keychain of scripts/with-keyring: bursts of BURST concurrent callers, p50/p99, three ways —
//   keychain:  no engine running, every call reads the keychain (today's path);
//   local:     `lanyard daemon` running, callers find its local socket and ask it;
//   forwarded: a second HOME without a Secret Service, LANYARD_AGENT_SOCK at the engine's
//              forwarding socket (what `ssh -R` hands a remote, without the SSH hop);
//   over ssh:  the same through a real `ssh -R` to a loopback sshd (scripts/setup.d/27-sshd.sh,
//              throwaway keys), LANYARD_AGENT_SOCK at the socket sshd made.
// Also a single caller each way, the same bursts of /bin/true (what spawning costs here, the
// floor under every figure), the load average before and after (other processes share the
// cores), and — load-independent — the CPU one caller costs on the local socket (task-clock and
// page faults over 100 calls, `perf stat`, when perf is installed). Prints figures, asserts
// nothing on time.
// Every burst is timed twice: as Node spawns it (one child after another in Node's thread, each
// timed until Node reads its exit), and forked together by bench/burst.c (built here with cc),
// each child timed from its own fork to its own exit — ten assistants are ten processes, each
// starting its own helper, so the second is the closer model and the first the older figure.
// Env: LANYARD_BIN, BENCH_ROUNDS (default 12), SOAK_BURST (default 10).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { LANYARD, admin, freshHome, startWorld, userEnv } from './common.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS || 12);
const BURST = Number(process.env.SOAK_BURST || 10);
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'lanyard-agent-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const FORKER = path.join(TMP, 'burst');
execFileSync('cc', ['-O2', '-o', FORKER, new URL('./burst.c', import.meta.url).pathname]);

function run(env, args, bin = LANYARD) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
  });
}

function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const fmt = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');
const pct = (xs) => `p50 ${fmt(percentile(xs, 50))}, p99 ${fmt(percentile(xs, 99))} (n=${xs.length})`;

/// The same bursts forked together by bench/burst.c: per-child ms from its fork to its exit.
function forked(env, bin = LANYARD) {
  const args = bin === LANYARD ? ['token', 'demo'] : [];
  const r = spawnSync(FORKER, [String(BURST), String(ROUNDS), bin, ...args], { env, encoding: 'utf8' });
  try {
    const { ms, failed } = JSON.parse(r.stdout);
    return { ms, failed };
  } catch {
    return { ms: [], failed: BURST * ROUNDS };
  }
}

async function measure(env, bin = LANYARD) {
  const burst = [];
  const single = [];
  let failed = 0;
  const args = bin === LANYARD ? ['token', 'demo'] : [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const one = await run(env, args, bin);
    if (one.code === 0) single.push(one.ms);
    else failed += 1;
    const rs = await Promise.all(Array.from({ length: BURST }, () => run(env, args, bin)));
    for (const r of rs) {
      if (r.code === 0) burst.push(r.ms);
      else failed += 1;
    }
    await sleep(200);
  }
  const f = forked(env, bin);
  return { burst, single, failed: failed + f.failed, forked: f.ms };
}

/// What one `lanyard token` served by the local socket costs the machine, whatever else runs:
/// mean task-clock (ms) and page faults over 100 calls, or null without perf.
function perCallCpu(env) {
  const perf = spawnSync('perf', ['stat', '-x', ',', '-r', '100', '-e', 'task-clock,page-faults',
    '--', LANYARD, 'token', 'demo'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (perf.status !== 0) return null;
  return Object.fromEntries(perf.stderr.toString().trim().split('\n').map((l) => l.split(','))
    .filter((f) => f.length > 2).map((f) => [f[2].replace(/:.*/, ''), Number(f[0])]));
}

/// A loopback sshd with throwaway keys and `ssh -N -R remote.sock:forward`; measures there.
async function overSsh(forward) {
  const dir = fs.mkdtempSync(path.join(TMP, 'ssh-'));
  const keygen = (name) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, name)]);
    return path.join(dir, name);
  };
  const hostKey = keygen('host_key');
  const clientKey = keygen('client_key');
  fs.copyFileSync(`${clientKey}.pub`, path.join(dir, 'authorized_keys'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  fs.writeFileSync(path.join(dir, 'sshd_config'), [
    'ListenAddress 127.0.0.1', `Port ${port}`, `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`, `PidFile ${path.join(dir, 'sshd.pid')}`,
    'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password', 'AllowStreamLocalForwarding yes', 'StreamLocalBindUnlink yes', '',
  ].join('\n'));
  fs.mkdirSync('/run/sshd', { recursive: true });
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: 'ignore' });
  await sleep(500);
  const remoteHome = freshHome(TMP, 'ssh-remote');
  const sock = path.join(remoteHome, 'agent.sock');
  const ssh = spawn('ssh', ['-F', '/dev/null', '-i', clientKey, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ExitOnForwardFailure=yes', '-o', 'LogLevel=ERROR',
    '-p', String(port), '-N', '-R', `${sock}:${forward}`, '127.0.0.1'], { stdio: 'ignore', env: { ...process.env, HOME: dir } });
  for (let i = 0; i < 200 && !fs.existsSync(sock); i += 1) await sleep(50);
  const r = await measure({
    ...userEnv(remoteHome),
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/lanyard-no-bus',
    LANYARD_AGENT_SOCK: sock,
  });
  ssh.kill('SIGTERM');
  sshd.kill('SIGTERM');
  return r;
}

const { child, world } = await startWorld(
  TMP,
  { issuers: [{ name: 'idp', accessTokenTtl: 3600 }], mcpServers: [{ name: 'demo', issuer: 'idp' }] },
  path.join(TMP, 'world.log'),
);
const home = freshHome(TMP, 'laptop');
const env = userEnv(home);
const added = await run(env, ['add', world.mcpServers.demo.url, '--name', 'demo']);
if (added.code !== 0) throw new Error(`lanyard add failed:\n${added.stdout}${added.stderr}`);
await run(env, ['agent', 'share', 'demo']);

const loadBefore = os.loadavg();
const results = {};
// The floor of this harness on this machine now: the same bursts of a program that does nothing.
results['/bin/true'] = await measure(env, '/bin/true');
results.keychain = await measure(env);

const daemon = spawn(LANYARD, ['daemon'], { env, stdio: ['ignore', 'ignore', 'ignore'] });
const forward = path.join(home, '.config', 'lanyard', 'agent', 'forward.sock');
for (let i = 0; i < 200 && !fs.existsSync(forward); i += 1) await sleep(50);
await admin(world, '/reset', 'POST').catch(() => {});
results.local = await measure(env);
const remoteEnv = {
  ...userEnv(freshHome(TMP, 'remote')),
  DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/lanyard-no-bus',
  LANYARD_AGENT_SOCK: forward,
};
results.forwarded = await measure(remoteEnv);
results['over ssh'] = await overSsh(forward);
const cpu = perCallCpu(env);
const loadAfter = os.loadavg();
const counts = await admin(world, '/counts');
const stopped = new Promise((resolve) => daemon.once('exit', resolve));
daemon.kill('SIGTERM');
child.kill('SIGTERM');
await Promise.race([stopped, sleep(5000)]);

const refreshes = counts.issuers?.idp?.token?.refresh_token ?? 0;
console.log(`lanyard token (${LANYARD}), ${ROUNDS} rounds of a single caller and a burst of ${BURST} concurrent callers:`);
for (const [label, r] of Object.entries(results)) {
  console.log(`  ${label.padEnd(10)}: burst ${pct(r.burst)}; forked together ${r.forked ? pct(r.forked) : 'n/a'}; single ${pct(r.single)}; failed ${r.failed}`);
}
console.log(`  refresh grants at the IdP while the engine served: ${JSON.stringify(refreshes)}`);
const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`  load average (1/5/15 min) before ${load(loadBefore)}, after ${load(loadAfter)}; ${os.cpus().length} cores`);
console.log(`  one local caller's CPU (perf stat, 100 calls): ${cpu
  ? `task-clock ${cpu['task-clock'].toFixed(2)} ms, ${cpu['page-faults']} page faults` : 'n/a (no perf)'}`);
console.log(JSON.stringify(Object.fromEntries(Object.entries(results).map(([k, r]) => [k, {
  burst_p50: percentile(r.burst, 50), burst_p99: percentile(r.burst, 99),
  forked_p50: percentile(r.forked ?? [], 50), forked_p99: percentile(r.forked ?? [], 99),
  single_p50: percentile(r.single, 50), single_p99: percentile(r.single, 99), failed: r.failed,
}]).concat([['cpu_per_call', cpu], ['load', { before: loadBefore, after: loadAfter }]]))));
// The world may still be writing its log as it stops: retry rather than lose the figures.
fs.rmSync(TMP, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
