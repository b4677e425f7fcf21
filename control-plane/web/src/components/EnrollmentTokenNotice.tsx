import { useId } from 'react';
import { CopyButton } from './CopyButton.js';

interface EnrollmentTokenNoticeProps {
  agentName: string;
  siteName: string;
  token: string;
  /** The agent has used the token: say so, so the operator knows the setup worked. */
  enrolled: boolean;
  onDismiss: () => void;
}

/** Builds the agent config that enrolls with this control plane (the token works once). */
export function agentConfigSnippet(siteName: string, token: string, url: string): string {
  return [
    `site: ${JSON.stringify(siteName)}`,
    'stateDir: /var/lib/sipwall-agent   # enrollment stores the MQTT credentials here',
    'sip:',
    '  domains: [sip.example.com]',
    '  interfaces:',
    '    - { name: inside, role: inside, address: 192.168.1.1 }',
    '    - { name: outside, role: outside, address: 203.0.113.10 }',
    'controlPlane:',
    `  url: ${url}`,
    `  enrollmentToken: ${token}`,
  ].join('\n');
}

/** Shown once, right after `agents.create`: the server keeps only a hash of the token. */
export function EnrollmentTokenNotice({
  agentName,
  siteName,
  token,
  enrolled,
  onDismiss,
}: EnrollmentTokenNoticeProps) {
  const titleId = useId();
  const snippet = agentConfigSnippet(siteName, token, window.location.origin);
  return (
    <section className="notice" aria-labelledby={titleId} data-testid="enrollment-token">
      <h4 id={titleId}>Enrollment token for {agentName}</h4>
      <p>
        Copy it now: it is shown <strong>only once</strong> and can be used once. Put it in the agent's config
        file and start <code>sipwall-agent --config /etc/sipwall/agent.yaml</code>.
      </p>
      <div className="token-row">
        <code className="token" data-testid="enrollment-token-value">
          {token}
        </code>
        <CopyButton text={token} label="Copy enrollment token" />
      </div>
      <div className="snippet-header">
        <span className="muted small">/etc/sipwall/agent.yaml</span>
        <CopyButton text={snippet} label="Copy agent config" />
      </div>
      <pre className="snippet">{snippet}</pre>
      {enrolled ? (
        <p className="success" role="status">
          {agentName} has enrolled with this token; it cannot be used again.
        </p>
      ) : null}
      <button type="button" onClick={onDismiss}>
        {enrolled ? 'Close' : 'I have saved the token'}
      </button>
    </section>
  );
}
