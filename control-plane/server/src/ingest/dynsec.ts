import { randomUUID } from 'node:crypto';
import { AGENT_PUBLISH_KINDS, agentSubscriptionFilters, agentTopicPrefix, TOPIC_ROOT } from '@sipwall/shared';
import type { MqttClient } from 'mqtt';
import type { AgentProvisioner } from '../domain/ports.js';
import type { Logger } from '../logger.js';

/** Mosquitto dynamic-security control topics (v1). */
export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;

/** Role that grants the control plane's own user the agents tree. */
export const CONTROL_PLANE_ROLE = 'sipwall-control-plane';

type Command = Record<string, unknown> & { command: string };
interface CommandResponse {
  command: string;
  error?: string;
  data?: { client?: { roles?: { rolename: string }[] } };
  correlationData?: string;
}

/** A dynsec command failed; `code` is stable, the broker's reason is in the message. */
export class DynsecError extends Error {
  override readonly name = 'DynsecError';
  readonly code = 'DYNSEC_COMMAND_FAILED';
}

/**
 * Role and ACLs for one agent: in its own subtree only, it may publish `AGENT_PUBLISH_KINDS` and
 * subscribe to exactly `desired`, `ack` and `rpc/+` (`subscribeLiteral`: the filter must be that
 * string, so `#` below the prefix is refused too), and receive only those. Dynsec cannot refuse
 * a retained flag per topic nor limit payload size per client; see infra/mosquitto/README.md.
 * The wide ACLs of older releases (`<prefix>#`) are removed so re-provisioning narrows them.
 */
export function agentRoleCommands(agentId: string): Command[] {
  const prefix = agentTopicPrefix(agentId);
  const rolename = `agent-${agentId}`;
  const subscriptions = agentSubscriptionFilters(agentId);
  return [
    {
      command: 'createRole',
      rolename,
      acls: [
        ...AGENT_PUBLISH_KINDS.map((k) => ({
          acltype: 'publishClientSend',
          topic: `${prefix}${k}`,
          priority: 0,
          allow: true,
        })),
        ...subscriptions.flatMap((topic) => [
          { acltype: 'subscribeLiteral', topic, priority: 0, allow: true },
          { acltype: 'unsubscribeLiteral', topic, priority: 0, allow: true },
          { acltype: 'publishClientReceive', topic, priority: 0, allow: true },
        ]),
      ],
    },
  ];
}

/** Removes the wide ACLs that earlier releases granted on `<prefix>#` (errors tolerated: none there). */
export function legacyAgentAclRemovals(agentId: string): Command[] {
  const tree = `${agentTopicPrefix(agentId)}#`;
  const rolename = `agent-${agentId}`;
  return ['publishClientSend', 'subscribePattern', 'publishClientReceive', 'unsubscribePattern'].map(
    (acltype) => ({ command: 'removeRoleACL', rolename, acltype, topic: tree }),
  );
}

const ALREADY = /already exists|already in role/i;

/**
 * Sends dynsec commands on the bridge's connection and checks every response.
 * Errors saying a thing already exists are tolerated (provisioning is idempotent).
 */
export class DynsecClient {
  private readonly pending = new Map<string, (r: CommandResponse) => void>();

  constructor(
    private readonly client: MqttClient,
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
  ) {
    client.on('message', (topic, payload) => {
      if (topic !== DYNSEC_RESPONSE_TOPIC) return;
      let body: { responses?: CommandResponse[] };
      try {
        body = JSON.parse(payload.toString('utf8')) as { responses?: CommandResponse[] };
      } catch {
        return;
      }
      for (const r of body.responses ?? []) {
        if (r.correlationData) this.pending.get(r.correlationData)?.(r);
      }
    });
  }

  /** Subscribes to the response topic; call after each (re)connect. */
  async attach(): Promise<void> {
    const [g] = await this.client.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 });
    if (!g || g.qos >= 0x80) throw new DynsecError(`subscription to ${DYNSEC_RESPONSE_TOPIC} refused`);
  }

  /** Runs commands in order (one message each, so order is kept) and returns their responses. */
  async run(commands: Command[], tolerate: RegExp = ALREADY): Promise<CommandResponse[]> {
    const out: CommandResponse[] = [];
    for (const cmd of commands) {
      const id = randomUUID();
      const response = new Promise<CommandResponse>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new DynsecError(`dynsec ${cmd.command}: no response within ${this.timeoutMs} ms`));
        }, this.timeoutMs);
        this.pending.set(id, (r) => {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve(r);
        });
      });
      await this.client.publishAsync(
        DYNSEC_TOPIC,
        JSON.stringify({ commands: [{ ...cmd, correlationData: id }] }),
        {
          qos: 1,
        },
      );
      const r = await response;
      if (r.error && !tolerate.test(r.error)) {
        throw new DynsecError(`dynsec ${cmd.command} failed: ${r.error}`);
      }
      if (r.error) this.logger.debug({ command: cmd.command, error: r.error }, 'dynsec: tolerated');
      out.push(r);
    }
    return out;
  }

  /**
   * Grants the control plane's own user publish/subscribe on the whole agents tree.
   * Mosquitto disconnects a client whose roles change, so when the role has to be added this
   * returns `'reconnect'`: the bridge reconnects and calls again, and then it returns `'ok'`.
   */
  async grantControlPlane(username: string): Promise<'ok' | 'reconnect'> {
    const tree = `${TOPIC_ROOT}/#`;
    await this.run([
      {
        command: 'createRole',
        rolename: CONTROL_PLANE_ROLE,
        acls: [
          { acltype: 'publishClientSend', topic: tree, priority: 0, allow: true },
          { acltype: 'subscribePattern', topic: tree, priority: 0, allow: true },
          { acltype: 'publishClientReceive', topic: tree, priority: 0, allow: true },
        ],
      },
    ]);
    const [info] = await this.run([{ command: 'getClient', username }], /^$/);
    if (info?.data?.client?.roles?.some((r) => r.rolename === CONTROL_PLANE_ROLE)) return 'ok';
    this.logger.info(
      { username, role: CONTROL_PLANE_ROLE },
      'dynsec: granting the control plane role (broker will reconnect us)',
    );
    // No response to wait for: the broker kicks us as soon as the role is added.
    await this.client.publishAsync(
      DYNSEC_TOPIC,
      JSON.stringify({
        commands: [{ command: 'addClientRole', username, rolename: CONTROL_PLANE_ROLE, priority: 10 }],
      }),
      { qos: 1 },
    );
    return 'reconnect';
  }
}

/** Provisions agents on Mosquitto's dynamic security plugin. */
export function dynsecProvisioner(dynsec: DynsecClient): AgentProvisioner {
  return {
    async provisionAgent(agentId, password) {
      const rolename = `agent-${agentId}`;
      const created = await dynsec.run(agentRoleCommands(agentId));
      if (created[0]?.error) {
        // The role existed (an older release or re-provisioning): narrow it to the current ACLs.
        await dynsec.run(legacyAgentAclRemovals(agentId), /.*/);
        const [role] = agentRoleCommands(agentId);
        for (const acl of (role?.acls ?? []) as Record<string, unknown>[]) {
          await dynsec.run([{ command: 'addRoleACL', rolename, ...acl }], /.*/);
        }
      }
      const [client] = await dynsec.run([
        { command: 'createClient', username: agentId, password, clientid: agentId },
      ]);
      if (client?.error) {
        // Already exists (e.g. re-provisioning): reset the password.
        await dynsec.run([{ command: 'setClientPassword', username: agentId, password }]);
        // Mosquitto 2.0 answers "Internal error" to adding a role the client already has.
        const [info] = await dynsec.run([{ command: 'getClient', username: agentId }], /^$/);
        if (info?.data?.client?.roles?.some((r) => r.rolename === rolename)) return;
      }
      await dynsec.run([{ command: 'addClientRole', username: agentId, rolename, priority: 0 }]);
    },
    async revokeAgent(agentId) {
      // Deleting the client makes Mosquitto disconnect its live session too.
      await dynsec.run(
        [
          { command: 'deleteClient', username: agentId },
          { command: 'deleteRole', rolename: `agent-${agentId}` },
        ],
        NOT_FOUND,
      );
    },
  };
}

/** Revoking something already gone is fine. */
const NOT_FOUND = /not found/i;

/** Provisioner for brokers that authenticate against our database (embedded) or are managed elsewhere. */
export const noopProvisioner: AgentProvisioner = {
  provisionAgent: async () => {},
  revokeAgent: async () => {},
};
