// Cloudflare Gateway targets: API request bodies (one bundle per filter: DNS, HTTP, Network) and
// Terraform for provider v5 (all three filters). The plan itself is built in ../cloudflare.ts.
import { Ajv, type ValidateFunction } from 'ajv';
import schema from '../cloudflare-api.schema.json' with { type: 'json' };
import { apiTraffic, gatewayPlan, terraformTraffic, type GatewayFilter, type GatewayPlan } from '../cloudflare.js';
import type { RuleSet } from '../model.js';
import { assertRuleSet, headerView, RenderError, renderTemplate, type RenderOptions, type RuleTarget, type TargetMeta } from '../render.js';
import { safeExpr, word } from '../safe.js';

let validateBundle: ValidateFunction | undefined;

/** The JSON schema of the request bundle (research A.1/A.2/A.7), used to fail closed after rendering. */
export function cloudflareBundleValidator(): ValidateFunction {
  validateBundle ??= new Ajv({ allErrors: true, strict: false }).compile(schema);
  return validateBundle;
}

function apiView(plan: GatewayPlan, filter: GatewayFilter) {
  return {
    lists: plan.lists.map((l) => ({ body: { name: l.name, type: l.type, description: l.description, items: l.items } })),
    rules: plan.policies.map((p) => ({
      placeholders: p.segments.flatMap((s) => ('list' in s ? [safeExpr`$__LIST_${s.list.name}__`] : [])),
      body: {
        name: p.name,
        description: p.description,
        action: p.action,
        enabled: true,
        filters: [word(filter)],
        precedence: p.precedence,
        traffic: apiTraffic(p),
        identity: word(''),
        device_posture: word(''),
        rule_settings: p.blockReason ? { block_reason: p.blockReason } : {},
      },
    })),
    notes: plan.notes,
  };
}

function apiTarget(filter: GatewayFilter, id: string, label: string): RuleTarget {
  const meta: TargetMeta = {
    id,
    title: `Shadow MCP Cloudflare Gateway ${label} policies (API request bodies)`,
    fileName: `shadowtap-${id}.json`,
    validator: 'JSON schema src/rules/cloudflare-api.schema.json',
  };
  return {
    meta,
    render(set: RuleSet, options: RenderOptions = {}): string {
      assertRuleSet(set); // fail closed before any subject value is read
      const plan = gatewayPlan(set, [filter], options);
      const out = renderTemplate(id, { ...headerView(set, meta), target: word(id), ...apiView(plan, filter) }, options);
      let doc: unknown;
      try {
        doc = JSON.parse(out);
      } catch (e) {
        throw new RenderError(`${id}: template produced invalid JSON (${(e as Error).message})`);
      }
      const check = cloudflareBundleValidator();
      if (!check(doc)) throw new RenderError(`${id}: output does not match the Gateway API body schema: ${JSON.stringify(check.errors?.slice(0, 3))}`);
      return out;
    },
  };
}

export const cloudflareDns = apiTarget('dns', 'cloudflare-dns', 'DNS');
export const cloudflareHttp = apiTarget('http', 'cloudflare-http', 'HTTP');
export const cloudflareNetwork = apiTarget('l4', 'cloudflare-network', 'Network');

export const cloudflareTerraform: RuleTarget = {
  meta: {
    id: 'cloudflare-terraform',
    title: 'Shadow MCP Cloudflare Gateway policies (Terraform, cloudflare provider 5.x)',
    fileName: 'shadowtap-cloudflare.tf',
    validator: 'terraform validate (parsed with cdktf hcl2json in tests)',
  },
  render(set: RuleSet, options: RenderOptions = {}): string {
    assertRuleSet(set); // fail closed before any subject value is read
    const plan = gatewayPlan(set, ['dns', 'http', 'l4'], options);
    return renderTemplate(this.meta.id, {
      ...headerView(set, this.meta),
      lists: plan.lists,
      policies: plan.policies.map((p) => ({ ...p, segments: null, traffic: terraformTraffic(p) })),
      notes: plan.notes,
    }, options);
  },
};
