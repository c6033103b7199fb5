// shadowtap.config.json: defaults a SOC sets once, schema-checked; flags on the command line win.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { UsageError } from './io.js';
import type { AlertsConfig, DlpConfig } from '../audit/types.js';

export interface Config {
  signatures?: string[];
  approved?: string;
  output?: 'table' | 'json' | 'ndjson' | 'csv' | 'html';
  minConfidence?: 'low' | 'medium' | 'high';
  failOn?: 'low' | 'medium' | 'high' | 'none';
  db?: string;
  rules?: { target?: string[]; minConfidence?: 'low' | 'medium' | 'high'; block?: Array<'servers' | 'domains' | 'ports' | 'all'>; templates?: string };
  dlp?: DlpConfig;
  alerts?: AlertsConfig;
  /** Where it was read from. */
  path?: string;
}

export const CONFIG_FILE = 'shadowtap.config.json';

/** The config named by --config, else ./shadowtap.config.json when present, else none. */
export async function loadConfig(explicit: string | undefined, cwd = process.cwd()): Promise<Config> {
  const path = explicit ? resolve(cwd, explicit) : resolve(cwd, CONFIG_FILE);
  if (!explicit && !existsSync(path)) return {};
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new UsageError(`config ${path}: no such file`);
    throw new UsageError(`config ${path}: not valid JSON (${err.message})`);
  }
  // config.schema.json's validator (src/generated/), loaded only when there is a config to check.
  const validate = (await import('../generated/config-validator.js')).validateConfig;
  if (!validate(data)) {
    const first = validate.errors![0];
    const where = first.instancePath || '/';
    const extra = first.params && 'additionalProperty' in first.params ? ` "${String(first.params.additionalProperty)}"` : '';
    throw new UsageError(`config ${path}: ${where} ${first.message}${extra}`);
  }
  const cfg = data as Config;
  const base = dirname(path);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...cfg,
    path,
    signatures: cfg.signatures?.map(abs),
    approved: cfg.approved && abs(cfg.approved),
    db: cfg.db && abs(cfg.db),
    rules: cfg.rules && { ...cfg.rules, templates: cfg.rules.templates && abs(cfg.rules.templates) },
    alerts: cfg.alerts && {
      ...cfg.alerts,
      newServer: cfg.alerts.newServer && { ...cfg.alerts.newServer, baseline: cfg.alerts.newServer.baseline && abs(cfg.alerts.newServer.baseline) },
    },
  };
}
