/**
 * `--restart no|always|unless-stopped|on-failure[:N]` (opts.ParseRestartPolicy);
 * the daemon judges the policy name, the CLI only splits it.
 */
export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

export function parseRestartPolicy(policy: string): RestartPolicy {
  if (policy === '') return { Name: '', MaximumRetryCount: 0 };
  const colon = policy.indexOf(':');
  const name = colon >= 0 ? policy.slice(0, colon) : policy;
  const count = colon >= 0 ? policy.slice(colon + 1) : '';
  if (colon >= 0 && name === '') throw new Error('invalid restart policy format: no policy provided before colon');
  let n = 0;
  if (count !== '') {
    if (!/^[+-]?\d+$/.test(count)) throw new Error('invalid restart policy format: maximum retry count must be an integer');
    n = Number(count);
  }
  return { Name: name, MaximumRetryCount: n };
}

export function isRestartNone(p: RestartPolicy): boolean {
  return p.Name === '' || p.Name === 'no';
}
