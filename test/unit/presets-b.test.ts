import { createHash, createHmac } from 'node:crypto';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import { AwsLambdaReceiver } from '@zoom/rivet/meetings';
import coinbase from 'coinbase-commerce-node';
import fc from 'fast-check';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import Stripe from 'stripe';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProviders } from '../../functions/providers/registry.ts';
import { writeSignatureHeader } from '../../functions/providers/signed-request.ts';
import type { Provider } from '../../functions/providers/types.ts';
import {
  type ProviderDeclaration,
  type ResolvedHmac,
  type ResolvedProvider,
  resolveDeclaration,
  signsDeliveryId,
  signsTimestamp,
} from '../../functions/shared/declaration.ts';
import { lambdaContext, webhookEvent } from '../support/events.ts';
import {
  changeOneByte,
  changeOneCharacter,
  expect401,
  type InspectInput,
  inspectWith,
  jsonObject,
  NOW,
  NOW_SECONDS,
  SEED,
} from '../support/providers.ts';

/**
 * The presets of presets-more.ts, each declared as a user would (`{ preset }` and
 * what only they know), resolved, built, and fed requests made by the sender's own
 * library where one is installed (@octokit/webhooks-methods signs GitHub's
 * `sha256=` body HMAC, which Bitbucket and Meta use too; stripe signs the
 * `t=…,v1=…` scheme Calendly and Persona use; jose signs Plaid's ES256 token;
 * coinbase-commerce-node signs and verifies Coinbase Commerce's), else by
 * node:crypto following the sender's documented algorithm, and then checked
 * against the sender's own verifier where it has one and no signer (Zoom's
 * @zoom/rivet, through its Lambda receiver). Then a property per preset: any single
 * change to a signed part is a 401, never a throw. The clock is NOW, injected;
 * nothing reads the wall clock.
 */

const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');
const mac = (
  algorithm: 'sha1' | 'sha256',
  secret: string,
  text: string | Buffer,
  encoding: 'hex' | 'base64' = 'hex',
) => createHmac(algorithm, secret).update(text).digest(encoding);

const stripeOracle = new Stripe('sk_test_oracle_never_calls_the_api').webhooks;

/** A provider declared by its preset, resolved and built as the ingest function builds it. */
function declared(name: string, declaration: ProviderDeclaration) {
  const resolved = resolveDeclaration({ providers: { [name]: declaration }, subscribers: {} });
  const provider = buildProviders(resolved.providers).get(name);
  const config = resolved.providers[name];
  if (!provider || !config) throw new Error(`no ${name} provider`);
  return { provider, config, warnings: resolved.warnings };
}

/** The trust facts every preset's JSDoc states: retention, signed timestamp, signed id. */
function facts(config: ResolvedProvider) {
  return {
    retentionDays: config.retentionDays,
    signsTimestamp: signsTimestamp(config),
    signsDeliveryId: signsDeliveryId(config),
  };
}

type Mutation = (
  input: InspectInput,
  position: number,
  pick: number,
  shift: number,
) => InspectInput;

const changeBody: Mutation = (input, position, pick) => ({
  ...input,
  body: changeOneByte(input.body, position, pick + 1),
});
const changeHeader =
  (name: string): Mutation =>
  (input, position, pick) => ({
    ...input,
    headers: {
      ...input.headers,
      [name]: changeOneCharacter(input.headers[name] ?? '', position, pick),
    },
  });
const setHeader =
  (name: string, value: (shift: number, input: InspectInput) => string): Mutation =>
  (input, _position, _pick, shift) => ({
    ...input,
    headers: { ...input.headers, [name]: value(shift, input) },
  });

/**
 * The property every preset meets: a request made from any body is accepted (or
 * answered), and any one change to a signed part of it is a 401, never a throw.
 */
function anySignedChangeIs401(
  provider: Provider,
  make: (data: Record<string, unknown>) => InspectInput,
  mutations: Readonly<Record<string, Mutation>>,
): void {
  fc.assert(
    fc.property(
      jsonObject(),
      fc.constantFrom(...Object.keys(mutations)),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
      (data, what, position, pick, shift) => {
        // Prepare
        const input = make(data);
        const mutate = mutations[what];
        if (!mutate) throw new Error(what);

        // Act
        const original = inspectWith(provider, input);
        const changed = inspectWith(provider, mutate(input, position, pick, shift));

        // Assess
        expect(original.kind).not.toBe('reject');
        expect401(changed);
      },
    ),
    { seed: SEED, numRuns: 120 },
  );
}

describe('Module: presets-more', () => {
  describe('Preset: intercom', () => {
    const SECRET = 'intercom-client-secret-0001';
    const { provider, config, warnings } = declared('intercom', { preset: 'intercom' });
    const body = (data: unknown = { item: { type: 'conversation', id: '147' } }) =>
      JSON.stringify({
        type: 'notification_event',
        app_id: 'a86dr8yl',
        id: 'notif_78c122d0-23ba-11e4-9464-79b01267cc2e',
        topic: 'conversation.user.created',
        created_at: NOW_SECONDS,
        data,
      });
    /** As Intercom documents it: sha1= and the hex HMAC-SHA1 of the body with the client secret. */
    const request = (text: string): InspectInput => ({
      headers: {
        'x-hub-signature': `sha1=${mac('sha1', SECRET, text)}`,
        'content-type': 'application/json',
        'user-agent': 'intercom-parrot-service-client/1.0',
      },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha1 over the body, its id signed in the body, keys kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        preset: 'intercom',
        header: 'x-hub-signature',
        prefix: 'sha1=',
        algorithm: 'sha1',
        signedContent: '{body}',
      });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: true,
      });
      expect(warnings).toEqual([]);
    });

    it('accepts a notification signed as documented, keyed by its id and typed by its topic', () => {
      // Act
      const verdict = inspectWith(provider, request(body()));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'notif_78c122d0-23ba-11e4-9464-79b01267cc2e',
        eventType: 'conversation.user.created',
        keptHeaders: {
          'content-type': 'application/json',
          'user-agent': 'intercom-parrot-service-client/1.0',
        },
      });
    });

    it('answers any single change to the body or the signature with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        body: changeBody,
        signature: changeHeader('x-hub-signature'),
      });
    });
  });

  describe('Preset: typeform', () => {
    const SECRET = 'typeform-webhook-secret-01';
    const { provider, config } = declared('typeform', { preset: 'typeform' });
    const body = (data: unknown = { answers: [] }) =>
      JSON.stringify({
        event_id: '01HZX0000000000000000000AB',
        event_type: 'form_response',
        form_response: { form_id: 'lT4Z3j', submitted_at: '2100-01-01T00:00:00Z', data },
      });
    /** As Typeform documents it: sha256= and the base64 of the HMAC-SHA256 of the body. */
    const request = (text: string): InspectInput => ({
      headers: { 'typeform-signature': `sha256=${mac('sha256', SECRET, text, 'base64')}` },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha256 in base64 over the body, keys kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'typeform-signature',
        prefix: 'sha256=',
        encoding: 'base64',
      });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: true,
      });
    });

    it('accepts a response signed as documented, keyed by event_id, typed by event_type', () => {
      // Act
      const verdict = inspectWith(provider, request(body()));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: '01HZX0000000000000000000AB',
        eventType: 'form_response',
        keptHeaders: {},
      });
    });

    it('answers any single change to the body or the signature with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        body: changeBody,
        signature: changeHeader('typeform-signature'),
      });
    });
  });

  describe('Preset: calendly', () => {
    const SECRET = 'calendly-signing-key-0001';
    const { provider, config } = declared('calendly', { preset: 'calendly' });
    const body = (data: unknown = { status: 'active' }) =>
      JSON.stringify({
        created_at: '2100-01-01T00:00:00.000000Z',
        created_by: 'https://api.calendly.com/users/AAAA',
        event: 'invitee.created',
        payload: { uri: 'https://api.calendly.com/scheduled_events/EV1/invitees/IN1', data },
      });
    /** As Calendly documents it: t=<seconds>,v1=<hex HMAC-SHA256 of "t.body">. */
    const request = (text: string, t = NOW_SECONDS): InspectInput => ({
      headers: {
        'calendly-webhook-signature': `t=${t},v1=${mac('sha256', SECRET, `${t}.${text}`)}`,
      },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha256 over t.body with t in the header (±180 s), keys kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'calendly-webhook-signature',
        structured: { separator: ',', assignment: '=', signatureKey: 'v1', timestampKey: 't' },
        toleranceSeconds: 180,
        signedContent: '{timestamp}.{body}',
      });
      expect(facts(config)).toEqual({
        retentionDays: 7,
        signsTimestamp: true,
        signsDeliveryId: false,
      });
    });

    it('accepts what node:crypto and the stripe package (the same t=…,v1=… scheme) sign, keyed by the body', () => {
      // Prepare
      const text = body();
      const byStripe = stripeOracle.generateTestHeaderString({
        payload: text,
        secret: SECRET,
        timestamp: NOW_SECONDS,
      });

      // Act
      const verdict = inspectWith(provider, request(text));
      const fromStripe = inspectWith(provider, {
        ...request(text),
        headers: { 'calendly-webhook-signature': byStripe },
      });
      const retry = inspectWith(provider, {
        ...request(text, NOW_SECONDS + 60),
        now: NOW + 60_000,
      });

      // Assess
      expect(byStripe).toBe(request(text).headers['calendly-webhook-signature']);
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(text),
        eventType: 'invitee.created',
        keptHeaders: {},
      });
      expect(fromStripe).toEqual(verdict);
      // A retry signs the same body at a new time: the same delivery.
      expect(retry).toMatchObject({ kind: 'accept', deliveryId: sha256(text) });
    });

    it('refuses a t= 181 s away, either way', () => {
      // Act
      const old = inspectWith(provider, request(body(), NOW_SECONDS - 181));
      const ahead = inspectWith(provider, request(body(), NOW_SECONDS + 181));

      // Assess
      expect(old).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_old' });
      expect(ahead).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_new' });
    });

    it('answers any single change to the body, the timestamp or the signature with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        body: changeBody,
        timestamp: setHeader('calendly-webhook-signature', (shift, input) =>
          (input.headers['calendly-webhook-signature'] ?? '').replace(
            `t=${NOW_SECONDS}`,
            `t=${NOW_SECONDS + shift}`,
          ),
        ),
        signature: changeHeader('calendly-webhook-signature'),
      });
    });
  });

  describe('Preset: pagerduty', () => {
    const SECRET = 'pagerduty-v3-signing-secret';
    const OLD = 'pagerduty-v3-older-secret-0';
    const { provider, config } = declared('pagerduty', { preset: 'pagerduty' });
    const body = (data: unknown = { id: 'PGR0VU2', type: 'incident' }) =>
      JSON.stringify({
        event: {
          id: '01DEN4HPBQAAAG05V5QQYBRZMF',
          event_type: 'incident.triggered',
          resource_type: 'incident',
          occurred_at: '2100-01-01T00:00:00.000Z',
          agent: null,
          client: null,
          data,
        },
      });
    /** As PagerDuty documents it: v1=<hex HMAC-SHA256 of the body>, one per secret, comma-separated. */
    const request = (text: string, secrets = [SECRET, OLD]): InspectInput => ({
      headers: {
        'x-pagerduty-signature': secrets.map((s) => `v1=${mac('sha256', s, text)}`).join(','),
        'x-webhook-id': 'c0a4c5b4-0000-4000-8000-000000000001',
      },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha256 over the body in v1= items, keys kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'x-pagerduty-signature',
        structured: { separator: ',', assignment: '=', signatureKey: 'v1' },
        signedContent: '{body}',
      });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: true,
      });
    });

    it('accepts a header of several v1= when one matches (rotation), keyed by event.id, typed by event.event_type', () => {
      // Act
      const both = inspectWith(provider, request(body()));
      const oldFirst = inspectWith(provider, request(body(), [OLD, SECRET]));
      const onlyOld = inspectWith(provider, request(body(), [OLD]));

      // Assess
      expect(both).toEqual({
        kind: 'accept',
        deliveryId: '01DEN4HPBQAAAG05V5QQYBRZMF',
        eventType: 'incident.triggered',
        keptHeaders: {},
      });
      expect(oldFirst).toEqual(both);
      expect(onlyOld).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it("accepts the worked example of PagerDuty's own Go library (go-pagerduty, webhookv3), keyed by its event.id", () => {
      // Prepare: secret, body and signatures are those of TestVerifySignature in
      // https://github.com/PagerDuty/go-pagerduty/blob/master/webhookv3/webhookv3_test.go,
      // the Go example PagerDuty's signature docs point to; the body is that compact JSON, key order kept.
      const secret = 'lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK';
      const published = JSON.stringify({
        event: {
          id: '01BWDWL3NYY7LUFPZCC28QUCMK',
          event_type: 'incident.priority_updated',
          resource_type: 'incident',
          occurred_at: '2021-04-26T17:36:27.458Z',
          agent: {
            html_url: 'https://acme.pagerduty.com/users/PLH1HKV',
            id: 'PLH1HKV',
            self: 'https://api.pagerduty.com/users/PLH1HKV',
            summary: 'Tenex Engineer',
            type: 'user_reference',
          },
          client: null,
          data: {
            id: 'PGR0VU2',
            type: 'incident',
            self: 'https://api.pagerduty.com/incidents/PGR0VU2',
            html_url: 'https://acme.pagerduty.com/incidents/PGR0VU2',
            number: 2,
            status: 'triggered',
            title: 'A little bump in the road',
            service: {
              html_url: 'https://acme.pagerduty.com/services/PF9KMXH',
              id: 'PF9KMXH',
              self: 'https://api.pagerduty.com/services/PF9KMXH',
              summary: 'API Service',
              type: 'service_reference',
            },
            assignees: [
              {
                html_url: 'https://acme.pagerduty.com/users/PTUXL6G',
                id: 'PTUXL6G',
                self: 'https://api.pagerduty.com/users/PTUXL6G',
                summary: 'User 123',
                type: 'user_reference',
              },
            ],
            escalation_policy: {
              html_url: 'https://acme.pagerduty.com/escalation_policies/PUS0KTE',
              id: 'PUS0KTE',
              self: 'https://api.pagerduty.com/escalation_policies/PUS0KTE',
              summary: 'Default',
              type: 'escalation_policy_reference',
            },
            teams: [
              {
                html_url: 'https://acme.pagerduty.com/teams/PFCVPS0',
                id: 'PFCVPS0',
                self: 'https://api.pagerduty.com/teams/PFCVPS0',
                summary: 'Engineering',
                type: 'team_reference',
              },
            ],
            priority: {
              html_url: 'https://acme.pagerduty.com/account/incident_priorities',
              id: 'PSO75BM',
              self: 'https://api.pagerduty.com/priorities/PSO75BM',
              summary: 'P1',
              type: 'priority_reference',
            },
            urgency: 'high',
            conference_bridge: { conference_number: 1000, conference_url: 'https://example.com' },
            resolve_reason: null,
          },
        },
      });
      const sent = (signature: string): InspectInput => ({
        headers: { 'x-pagerduty-signature': signature },
        body: published,
        secrets: [secret],
      });

      // Act
      const valid = inspectWith(
        provider,
        sent('v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd'),
      );
      const mismatch = inspectWith(
        provider,
        sent('v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5'),
      );

      // Assess
      expect(valid).toEqual({
        kind: 'accept',
        deliveryId: '01BWDWL3NYY7LUFPZCC28QUCMK',
        eventType: 'incident.priority_updated',
        keptHeaders: {},
      });
      expect(mismatch).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('answers any single change to the body or the signatures with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data), [SECRET]), {
        body: changeBody,
        signature: changeHeader('x-pagerduty-signature'),
      });
    });
  });

  describe('Preset: bitbucket', () => {
    const SECRET = 'bitbucket-webhook-secret-1';
    const { provider, config, warnings } = declared('bitbucket', { preset: 'bitbucket' });
    const body = (data: unknown = { changes: [] }) =>
      JSON.stringify({
        repository: { full_name: 'team/repo', uuid: '{0f7a2b2e-0000-4000-8000-000000000000}' },
        actor: { display_name: 'A. Developer' },
        push: data,
      });
    const request = async (text: string, uuid = 'a6a6f2c4-0000-4000-8000-000000000001') => ({
      headers: {
        // @octokit/webhooks-methods signs sha256= and the hex HMAC-SHA256 of the body, as Bitbucket does.
        'x-hub-signature': await octokitSign(SECRET, text),
        'x-request-uuid': uuid,
        'x-event-key': 'repo:push',
        'x-attempt-number': '1',
      },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha256 over the body, the request UUID unsigned and no warning for it, keys kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'x-hub-signature',
        prefix: 'sha256=',
        deliveryId: { header: 'x-request-uuid' },
        eventTypeHeader: 'x-event-key',
      });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: false,
      });
      expect(warnings).toEqual([]);
    });

    it('accepts what @octokit/webhooks-methods signs, keyed by the body, the UUID kept, the unsigned X-Event-Key as type', async () => {
      // Prepare
      const text = body();
      const first = await request(text);

      // Act
      const oracle = await octokitVerify(SECRET, text, first.headers['x-hub-signature']);
      const verdict = inspectWith(provider, first);
      const againUnderNewUuid = inspectWith(provider, await request(text, 'another-uuid'));
      const badType = inspectWith(provider, {
        ...first,
        headers: { ...first.headers, 'x-event-key': 'repo push' },
      });

      // Assess
      expect(oracle).toBe(true);
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(text),
        providerDeliveryId: 'a6a6f2c4-0000-4000-8000-000000000001',
        eventType: 'repo:push',
        unsignedEventType: true,
        keptHeaders: {
          'x-request-uuid': 'a6a6f2c4-0000-4000-8000-000000000001',
          'x-event-key': 'repo:push',
        },
      });
      expect(againUnderNewUuid).toMatchObject({ deliveryId: sha256(text) });
      expect(badType).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_event_type' });
    });

    it('answers any single change to the body or the signature with a 401, never a throw', async () => {
      // Prepare: one signature made by the oracle for a fixed body, the rest by node:crypto.
      const template = await request(body());

      // Assess
      anySignedChangeIs401(
        provider,
        (data) => {
          const text = body(data);
          return {
            ...template,
            headers: {
              ...template.headers,
              'x-hub-signature': `sha256=${mac('sha256', SECRET, text)}`,
            },
            body: text,
          };
        },
        { body: changeBody, signature: changeHeader('x-hub-signature') },
      );
    });
  });

  describe('Preset: twitch', () => {
    const SECRET = 'twitch-eventsub-secret-0001';
    const TIMESTAMP = '2100-01-01T00:00:00.123456789Z';
    const { provider, config } = declared('twitch', { preset: 'twitch' });
    const subscription = (status: string) => ({
      id: 'f1c2a387-161a-49f9-a165-0f21d7a4e1c4',
      status,
      type: 'channel.follow',
      version: '2',
      condition: { broadcaster_user_id: '1337', moderator_user_id: '1337' },
      transport: { method: 'webhook', callback: 'https://hooks.example.com/webhooks/twitch' },
      created_at: '2100-01-01T00:00:00.000000000Z',
      cost: 0,
    });
    const notification = (data: unknown = {}) =>
      JSON.stringify({
        subscription: subscription('enabled'),
        event: { user_id: '1234', broadcaster_user_id: '1337', data },
      });
    /** As Twitch documents it: sha256= and the hex HMAC-SHA256 of message id, timestamp and body. */
    const request = (
      text: string,
      type = 'notification',
      id = 'befa7b53-d79d-478f-86b9-120f112b044e',
      timestamp = TIMESTAMP,
    ): InspectInput => ({
      headers: {
        'twitch-eventsub-message-id': id,
        'twitch-eventsub-message-timestamp': timestamp,
        'twitch-eventsub-message-signature': `sha256=${mac('sha256', SECRET, `${id}${timestamp}${text}`)}`,
        'twitch-eventsub-message-type': type,
        'twitch-eventsub-subscription-type': 'channel.follow',
        'content-type': 'application/json',
      },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha256 over {id}{timestamp}{body}, ISO 8601 within ±600 s, the id signed, keys kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'twitch-eventsub-message-signature',
        prefix: 'sha256=',
        timestampHeader: 'twitch-eventsub-message-timestamp',
        timestampFormat: 'iso8601',
        toleranceSeconds: 600,
        deliveryId: { header: 'twitch-eventsub-message-id' },
        signedContent: '{id}{timestamp}{body}',
      });
      expect(facts(config)).toEqual({
        retentionDays: 7,
        signsTimestamp: true,
        signsDeliveryId: true,
      });
    });

    it('accepts a notification keyed by its signed message id and typed by subscription.type', () => {
      // Act
      const verdict = inspectWith(provider, request(notification()));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'befa7b53-d79d-478f-86b9-120f112b044e',
        eventType: 'channel.follow',
        keptHeaders: {
          'content-type': 'application/json',
          'twitch-eventsub-message-id': 'befa7b53-d79d-478f-86b9-120f112b044e',
          'twitch-eventsub-message-timestamp': TIMESTAMP,
        },
      });
    });

    it('answers a verified webhook_callback_verification with its challenge as text/plain, and a forged one with 401', () => {
      // Prepare
      const text = JSON.stringify({
        challenge: 'hookonce-challenge-7f3a9c',
        subscription: subscription('webhook_callback_verification_pending'),
      });
      const signed = request(text, 'webhook_callback_verification');
      const forged = {
        ...signed,
        headers: {
          ...signed.headers,
          'twitch-eventsub-message-signature': `sha256=${mac('sha256', 'not-the-secret-0000000', text)}`,
        },
      };

      // Act
      const answer = inspectWith(provider, signed);
      const refused = inspectWith(provider, forged);
      const noChallenge = inspectWith(
        provider,
        request(
          JSON.stringify({ subscription: subscription('webhook_callback_verification_pending') }),
        ),
      );

      // Assess
      expect(answer).toEqual({
        kind: 'reply',
        statusCode: 200,
        contentType: 'text/plain',
        body: 'hookonce-challenge-7f3a9c',
      });
      expect(refused).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
      expect(noChallenge).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_body' });
    });

    it('stores and publishes a verified revocation as type "revocation", keyed by its message id', () => {
      // Prepare
      const text = JSON.stringify({ subscription: subscription('authorization_revoked') });

      // Act
      const verdict = inspectWith(
        provider,
        request(text, 'revocation', '84c1e79a-2a4b-4c13-ba0b-4312293e9308'),
      );

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        deliveryId: '84c1e79a-2a4b-4c13-ba0b-4312293e9308',
        eventType: 'revocation',
      });
      expect(verdict).not.toHaveProperty('unsignedEventType');
    });

    it('refuses a message more than 600 s old, and one whose timestamp is not ISO 8601', () => {
      // Act
      const old = inspectWith(
        provider,
        request(notification(), 'notification', 'm-1', '2099-12-31T23:49:59.999999999Z'),
      );
      const seconds = inspectWith(
        provider,
        request(notification(), 'notification', 'm-1', String(NOW_SECONDS)),
      );

      // Assess
      expect(old).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_old' });
      expect(seconds).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_timestamp' });
    });

    it('answers any single change to the body, the message id, the timestamp or the signature with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(notification(data)), {
        body: changeBody,
        id: changeHeader('twitch-eventsub-message-id'),
        timestamp: setHeader('twitch-eventsub-message-timestamp', (shift) =>
          new Date(NOW + shift * 1000).toISOString(),
        ),
        signature: changeHeader('twitch-eventsub-message-signature'),
      });
    });
  });

  describe('Preset: vercel', () => {
    const SECRET = 'vercel-webhook-secret-0001';
    const { provider, config } = declared('vercel', { preset: 'vercel' });
    const body = (data: unknown = { deployment: { id: 'dpl_1' } }) =>
      JSON.stringify({
        id: 'uQ6dRSN5E7jgzVbwSRNmbEuA',
        type: 'deployment.created',
        createdAt: NOW,
        region: 'iad1',
        payload: data,
      });
    /** As Vercel documents it: the hex HMAC-SHA1 of the body, no prefix. */
    const request = (text: string): InspectInput => ({
      headers: { 'x-vercel-signature': mac('sha1', SECRET, text) },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha1 in hex over the body, the body id signed, keys kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'x-vercel-signature',
        prefix: '',
        algorithm: 'sha1',
      });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: true,
      });
    });

    it('accepts an event keyed by id and typed by type', () => {
      // Act
      const verdict = inspectWith(provider, request(body()));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'uQ6dRSN5E7jgzVbwSRNmbEuA',
        eventType: 'deployment.created',
        keptHeaders: {},
      });
    });

    it('answers any single change to the body or the signature with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        body: changeBody,
        signature: changeHeader('x-vercel-signature'),
      });
    });
  });

  describe('Preset: sentry', () => {
    const SECRET = 'sentry-client-secret-00000001';
    const { provider, config, warnings } = declared('sentry', { preset: 'sentry' });
    const body = (data: unknown = { issue: { id: '1170820242' } }) =>
      JSON.stringify({
        action: 'created',
        installation: { uuid: '7a485448-a9e2-4c85-8a3c-4f44175783c9' },
        data,
        actor: { type: 'application', id: 'sentry', name: 'Sentry' },
      });
    /** As Sentry documents it: the hex HMAC-SHA256 of the body with the client secret. */
    const request = (text: string, requestId = 'b6f1a7b4-0000-4000-8000-0000000000aa') => ({
      headers: {
        'sentry-hook-signature': mac('sha256', SECRET, text),
        'sentry-hook-resource': 'issue',
        'sentry-hook-timestamp': String(NOW_SECONDS),
        'request-id': requestId,
        'content-type': 'application/json',
      },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha256 over the body, Request-ID unsigned and no warning for it, keys kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'sentry-hook-signature',
        deliveryId: { header: 'request-id' },
        eventTypeHeader: 'sentry-hook-resource',
      });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: false,
      });
      expect(warnings).toEqual([]);
    });

    it('accepts a delivery keyed by the body, Request-ID kept, typed by the unsigned Sentry-Hook-Resource', () => {
      // Prepare
      const text = body();

      // Act
      const verdict = inspectWith(provider, request(text));
      const resent = inspectWith(provider, request(text, 'another-request-id'));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(text),
        providerDeliveryId: 'b6f1a7b4-0000-4000-8000-0000000000aa',
        eventType: 'issue',
        unsignedEventType: true,
        keptHeaders: {
          'content-type': 'application/json',
          'request-id': 'b6f1a7b4-0000-4000-8000-0000000000aa',
          'sentry-hook-resource': 'issue',
        },
      });
      expect(resent).toMatchObject({ deliveryId: sha256(text) });
    });

    it('answers any single change to the body or the signature with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        body: changeBody,
        signature: changeHeader('sentry-hook-signature'),
      });
    });
  });

  describe('Preset: postmark', () => {
    const CREDENTIALS = 'postmark:hookonce-basic-password-01';
    const { provider, config, warnings } = declared('postmark', { preset: 'postmark' });
    const body = (data: unknown = {}) =>
      JSON.stringify({
        RecordType: 'Delivery',
        ServerID: 23,
        MessageStream: 'outbound',
        MessageID: '00000000-0000-0000-0000-000000000000',
        Recipient: 'john@example.com',
        DeliveredAt: '2100-01-01T00:00:00Z',
        Metadata: data,
      });
    /** As RFC 7617 (and so Postmark, from credentials in the URL) writes it. */
    const request = (text: string, credentials = CREDENTIALS): InspectInput => ({
      headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` },
      body: text,
      secrets: [CREDENTIALS],
    });

    it('resolves to the basic family: nothing signed, keys kept 30 days, no warning for the preset MessageID', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'basic',
        deliveryId: { jsonField: 'MessageID' },
        eventTypeField: 'RecordType',
      });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: false,
      });
      expect(warnings).toEqual([]);
    });

    it('accepts a delivery keyed by the body, MessageID kept, RecordType as an unsigned type', () => {
      // Prepare
      const text = body();

      // Act
      const verdict = inspectWith(provider, request(text));
      const inbound = inspectWith(provider, request(JSON.stringify({ MessageID: 'in-1' })));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(text),
        providerDeliveryId: '00000000-0000-0000-0000-000000000000',
        eventType: 'Delivery',
        unsignedEventType: true,
        keptHeaders: {},
      });
      expect(inbound).toMatchObject({ kind: 'accept', eventType: 'webhook' });
    });

    it('answers any single change to the username or password with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        credentials: (input, position, pick) =>
          request(
            typeof input.body === 'string' ? input.body : input.body.toString(),
            changeOneCharacter(CREDENTIALS, position, pick),
          ),
      });
    });
  });

  describe('Preset: telegram', () => {
    const TOKEN = 'telegram-secret_token-0001';
    const { provider, config, warnings } = declared('telegram', { preset: 'telegram' });
    const body = (data: unknown = 'hello') =>
      JSON.stringify({
        update_id: 123456789,
        message: { message_id: 1, date: NOW_SECONDS, chat: { id: 42, type: 'private' }, data },
      });
    const request = (text: string, token = TOKEN): InspectInput => ({
      headers: { 'x-telegram-bot-api-secret-token': token },
      body: text,
      secrets: [TOKEN],
    });

    it('resolves to the token family on X-Telegram-Bot-Api-Secret-Token, keys kept 30 days, no warning', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'token',
        header: 'x-telegram-bot-api-secret-token',
        prefix: '',
        eventType: 'update',
      });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: false,
      });
      expect(warnings).toEqual([]);
    });

    it('accepts an update keyed by the body, its update_id kept as the unsigned provider id', () => {
      // Prepare
      const text = body();

      // Act
      const verdict = inspectWith(provider, request(text));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(text),
        providerDeliveryId: '123456789',
        eventType: 'update',
        keptHeaders: {},
      });
    });

    it('answers any single change to the secret token with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        token: changeHeader('x-telegram-bot-api-secret-token'),
      });
    });
  });

  describe('Preset: coinbase-commerce', () => {
    const SECRET = 'coinbase-commerce-shared-secret';
    const { provider, config } = declared('coinbase', { preset: 'coinbase-commerce' });
    const body = (data: unknown = { code: '66BEOV2A' }) =>
      JSON.stringify({
        id: 1,
        scheduled_for: '2100-01-01T00:00:00Z',
        event: {
          id: '24934862-d980-46cb-9402-43c81b0cdba6',
          resource: 'event',
          type: 'charge:created',
          created_at: '2100-01-01T00:00:00Z',
          data,
        },
      });
    /** Signed by Coinbase's own SDK: `Webhook.computeSignature`, the hex HMAC-SHA256 of the body. */
    const request = (text: string, secret = SECRET): InspectInput => ({
      headers: { 'x-cc-webhook-signature': coinbase.Webhook.computeSignature(text, secret) },
      body: text,
      secrets: [SECRET],
    });
    /**
     * The SDK's verdict on a request: whether both `verifySigHeader` and
     * `verifyEventBody` accept it. A refusal is the throw of one of the SDK's own
     * errors; any other throw fails the test.
     */
    const sdkAccepts = (input: InspectInput): boolean => {
      const text = Buffer.from(input.body).toString('utf8');
      const signature = input.headers['x-cc-webhook-signature'] ?? '';
      const verdicts = [
        () => coinbase.Webhook.verifySigHeader(text, signature, SECRET),
        () => coinbase.Webhook.verifyEventBody(text, signature, SECRET),
      ].map((verify) => {
        try {
          verify();
          return true;
        } catch (error) {
          const { SignatureVerificationError, InvalidResponseError } = coinbase.errors;
          if (error instanceof SignatureVerificationError) return false;
          if (error instanceof InvalidResponseError) return false;
          throw error;
        }
      });
      if (verdicts[0] !== verdicts[1]) throw new Error('the SDK disagrees with itself');
      return verdicts[0] === true;
    };

    it('resolves to hmac sha256 in hex over the body, event.id signed, keys kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({ scheme: 'hmac', header: 'x-cc-webhook-signature' });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: true,
      });
    });

    it('accepts an event keyed by event.id and typed by event.type', () => {
      // Act
      const verdict = inspectWith(provider, request(body()));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: '24934862-d980-46cb-9402-43c81b0cdba6',
        eventType: 'charge:created',
        keptHeaders: {},
      });
    });

    it("accepts what the SDK signs and verifies, keyed and typed by the event the SDK's verifyEventBody returns", () => {
      // Prepare: a few events as Coinbase sends them, compact JSON, one with non-ASCII text.
      const events = [
        { id: 'a1f0c2de-0000-4000-8000-000000000001', type: 'charge:created', data: {} },
        {
          id: 'a1f0c2de-0000-4000-8000-000000000002',
          type: 'charge:confirmed',
          data: { code: 'K7Q2ZP', pricing: { local: { amount: '12.50', currency: 'EUR' } } },
        },
        {
          id: 'a1f0c2de-0000-4000-8000-000000000003',
          type: 'charge:failed',
          data: { name: 'Café au lait ☕', payments: [] },
        },
      ];

      for (const event of events) {
        const text = JSON.stringify({ id: 7, scheduled_for: '2100-01-01T00:00:00Z', event });
        const sent = request(text);
        const signature = sent.headers['x-cc-webhook-signature'] ?? '';

        // Act
        const verdict = inspectWith(provider, sent);
        const verified = coinbase.Webhook.verifyEventBody(text, signature, SECRET);

        // Assess
        expect(coinbase.Webhook.verifySigHeader(text, signature, SECRET)).toBe(true);
        expect(verdict).toEqual({
          kind: 'accept',
          deliveryId: verified.id,
          eventType: verified.type,
          keptHeaders: {},
        });
        expect(verified).toMatchObject({ id: event.id, type: event.type });
      }
    });

    it("accepts the worked example of Coinbase Commerce's own SDK tests, keyed by its event.id", () => {
      // Prepare: secret, payload and signature are those of Coinbase's own tests,
      // https://github.com/coinbase/coinbase-commerce-node/blob/master/test/testWebhook.spec.js
      // (the same in coinbase-commerce-php, tests/WebhookTest.php); the payload is that
      // compact JSON, key order kept. Its secret with the last character changed is
      // their "invalid secret" case.
      const secret = '30291a20-0bd1-4267-9b0f-e6e7b123c0bf';
      const published = JSON.stringify({
        id: 1,
        scheduled_for: '2017-01-31T20:50:02Z',
        attempt_number: 1,
        event: {
          id: '24934862-d980-46cb-9402-43c81b0cdba6',
          type: 'charge:created',
          api_version: '2018-03-22',
          created_at: '2017-01-31T20:49:02Z',
          data: {
            code: '66BEOV2A',
            name: 'The Sovereign Individual',
            description: 'Mastering the Transition to the Information Age',
            hosted_url: 'https://commerce.coinbase.com/charges/66BEOV2A',
            created_at: '2017-01-31T20:49:02Z',
            expires_at: '2017-01-31T21:04:02Z',
            timeline: [{ time: '2017-01-31T20:49:02Z', status: 'NEW' }],
            metadata: {},
            pricing_type: 'no_price',
            payments: [],
            addresses: {
              bitcoin: '0000000000000000000000000000000000',
              ethereum: '0x0000000000000000000000000000000000000000',
              litecoin: '3000000000000000000000000000000000',
              bitcoincash: 'bitcoincash:000000000000000000000000000000000000000000',
            },
          },
        },
      });
      const signature = '8be7742c7d372f08a6a3224edadf18a22b65fa9e28f3f2de97376cdaa092590d';
      const sent = (key: string): InspectInput => ({
        headers: { 'x-cc-webhook-signature': signature },
        body: published,
        secrets: [key],
      });

      // Act
      const valid = inspectWith(provider, sent(secret));
      const wrongSecret = inspectWith(provider, sent('30291a20-0bd1-4267-9b0f-e6e7b123c0bg'));

      // Assess
      expect(coinbase.Webhook.computeSignature(published, secret)).toBe(signature);
      expect(valid).toEqual({
        kind: 'accept',
        deliveryId: '24934862-d980-46cb-9402-43c81b0cdba6',
        eventType: 'charge:created',
        keptHeaders: {},
      });
      expect(wrongSecret).toMatchObject({
        kind: 'reject',
        status: 401,
        code: 'signature_mismatch',
      });
    });

    it('agrees with the SDK on any event it signs, and answers with a 401, never a throw, what the SDK refuses: a forged signature, a body changed by one byte, the signature of another secret', () => {
      const mutations: Readonly<Record<string, Mutation>> = {
        signature: changeHeader('x-cc-webhook-signature'),
        body: changeBody,
        otherSecret: (input) => ({
          ...input,
          headers: {
            'x-cc-webhook-signature': coinbase.Webhook.computeSignature(
              Buffer.from(input.body).toString('utf8'),
              `${SECRET}-not`,
            ),
          },
        }),
      };
      fc.assert(
        fc.property(
          jsonObject(),
          fc.constantFrom(...Object.keys(mutations)),
          fc.nat(),
          fc.nat(),
          (data, what, position, pick) => {
            // Prepare
            const sent = request(body(data));
            const mutate = mutations[what];
            if (!mutate) throw new Error(what);
            const changed = mutate(sent, position, pick, 0);

            // Act
            const original = inspectWith(provider, sent);
            const refused = inspectWith(provider, changed);

            // Assess
            expect(sdkAccepts(sent)).toBe(true);
            expect(original.kind).toBe('accept');
            expect(sdkAccepts(changed)).toBe(false);
            expect401(refused);
          },
        ),
        { seed: SEED, numRuns: 120 },
      );
    });
  });

  describe('Preset: checkout-com', () => {
    const SECRET = 'checkout-com-webhook-secret';
    const { provider, config } = declared('checkout', { preset: 'checkout-com' });
    const body = (data: unknown = { id: 'pay_1', amount: 6540, currency: 'USD' }) =>
      JSON.stringify({
        id: 'evt_az7sqlkdmngobbrjxqfsh2bzg4',
        type: 'payment_approved',
        version: '1.0.0',
        created_on: '2100-01-01T00:00:00Z',
        data,
      });
    /** As Checkout.com documents it: the hex HMAC-SHA256 of the body with the secret key. */
    const request = (text: string): InspectInput => ({
      headers: { 'cko-signature': mac('sha256', SECRET, text) },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha256 in hex over the body, the id signed, keys kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({ scheme: 'hmac', header: 'cko-signature', prefix: '' });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: true,
      });
    });

    it('accepts an event keyed by id and typed by type', () => {
      // Act
      const verdict = inspectWith(provider, request(body()));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'evt_az7sqlkdmngobbrjxqfsh2bzg4',
        eventType: 'payment_approved',
        keptHeaders: {},
      });
    });

    it('answers any single change to the body or the signature with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        body: changeBody,
        signature: changeHeader('cko-signature'),
      });
    });
  });

  describe('Preset: persona', () => {
    const SECRET = 'wbhsec_hookonce-persona-0001';
    const NEXT = 'wbhsec_hookonce-persona-0002';
    const { provider, config } = declared('persona', { preset: 'persona' });
    const body = (data: unknown = { type: 'inquiry', id: 'inq_1' }) =>
      JSON.stringify({
        data: {
          type: 'event',
          id: 'evt_XGuYWp7WyZYpD1SDTLyyyyy',
          attributes: {
            name: 'inquiry.completed',
            'created-at': '2100-01-01T00:00:00.000Z',
            payload: { data },
          },
        },
      });
    /** As Persona documents it: t=<seconds>,v1=<hex HMAC-SHA256 of "t.body">, a set per secret, space-separated. */
    const header = (text: string, secrets: readonly string[], t = NOW_SECONDS) =>
      secrets.map((s) => `t=${t},v1=${mac('sha256', s, `${t}.${text}`)}`).join(' ');
    const request = (text: string, secrets: readonly string[] = [SECRET]): InspectInput => ({
      headers: { 'persona-signature': header(text, secrets) },
      body: text,
      secrets: [SECRET],
    });

    it('resolves to hmac sha256 over t.body, t in the header, sets separated by a space, keys kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'persona-signature',
        structured: { signatureKey: 'v1', timestampKey: 't', setSeparator: ' ' },
        signedContent: '{timestamp}.{body}',
        toleranceSeconds: 300,
      });
      expect(facts(config)).toEqual({
        retentionDays: 7,
        signsTimestamp: true,
        signsDeliveryId: true,
      });
    });

    it('accepts what node:crypto and the stripe package sign, keyed by data.id and typed by data.attributes.name', () => {
      // Prepare
      const text = body();
      const byStripe = stripeOracle.generateTestHeaderString({
        payload: text,
        secret: SECRET,
        timestamp: NOW_SECONDS,
      });

      // Act
      const verdict = inspectWith(provider, request(text));
      const fromStripe = inspectWith(provider, {
        ...request(text),
        headers: { 'persona-signature': byStripe },
      });

      // Assess
      expect(byStripe).toBe(header(text, [SECRET]));
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: 'evt_XGuYWp7WyZYpD1SDTLyyyyy',
        eventType: 'inquiry.completed',
        keptHeaders: {},
      });
      expect(fromStripe).toEqual(verdict);
    });

    it('accepts the two sets Persona sends while a secret rotates, whichever one matches, and refuses sets with different t=', () => {
      // Prepare
      const text = body();
      const mixed = `${header(text, [NEXT])} ${header(text, [SECRET], NOW_SECONDS + 1)}`;

      // Act
      const newFirst = inspectWith(provider, request(text, [NEXT, SECRET]));
      const oldFirst = inspectWith(provider, request(text, [SECRET, NEXT]));
      const neither = inspectWith(provider, request(text, [NEXT, NEXT]));
      const twoTimes = inspectWith(provider, {
        ...request(text),
        headers: { 'persona-signature': mixed },
      });

      // Assess
      expect(newFirst).toMatchObject({ kind: 'accept', deliveryId: 'evt_XGuYWp7WyZYpD1SDTLyyyyy' });
      expect(oldFirst).toEqual(newFirst);
      expect(neither).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
      expect(twoTimes).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('answers any single change to the body, the timestamp or the signature with a 401, never a throw', () => {
      // One set: with two, a change to the other set's items leaves a valid set, rightly accepted.
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        body: changeBody,
        timestamp: setHeader('persona-signature', (shift, input) =>
          (input.headers['persona-signature'] ?? '').replaceAll(
            `t=${NOW_SECONDS}`,
            `t=${NOW_SECONDS + shift}`,
          ),
        ),
        signature: changeHeader('persona-signature'),
      });
    });
  });

  describe('Preset: zoom', () => {
    const SECRET = 'zoom-secret-token-00000001';
    const OLD = 'zoom-secret-token-00000000';
    const { provider, config } = declared('zoom', { preset: 'zoom' });
    const body = (data: unknown = { topic: 'My Meeting' }) =>
      JSON.stringify({
        event: 'meeting.started',
        event_ts: NOW,
        payload: { account_id: 'AAAA', object: { id: '1234567890', data } },
      });
    /** As Zoom documents it: v0= and the hex HMAC-SHA256 of "v0:{timestamp}:{body}". */
    const request = (text: string, secret = SECRET, ts = NOW_SECONDS): InspectInput => ({
      headers: {
        'x-zm-signature': `v0=${mac('sha256', secret, `v0:${ts}:${text}`)}`,
        'x-zm-request-timestamp': String(ts),
        'content-type': 'application/json; charset=utf-8',
      },
      body: text,
      secrets: [SECRET, OLD],
    });
    /**
     * Zoom's own SDK as the verifier: @zoom/rivet's AwsLambdaReceiver, the public
     * export a Rivet app deploys on Lambda, its handler fed the API Gateway (payload
     * 2.0) event the request would be. Its check (CommonHttpRequest, not exported)
     * HMACs `v0:{x-zm-request-timestamp}:{JSON.stringify(JSON.parse(body))}` and
     * compares `v0=` and that hex with x-zm-signature; it reads no clock and checks
     * no timestamp age, so its verdict does not depend on when the test runs (the
     * ±300 s window is hookonce's alone, its clock NOW, injected). It needs no event
     * emitter: with none, an event it verified is answered 200 and handed to nobody.
     */
    const rivetBy = new Map(
      [SECRET, OLD].map((secret) => [
        secret,
        new AwsLambdaReceiver({ webhooksSecretToken: secret }).start(),
      ]),
    );
    let invocations = 0;
    async function rivetAnswer(input: InspectInput, secret = SECRET) {
      const handler = rivetBy.get(secret);
      if (!handler) throw new Error('no Rivet receiver for that secret');
      const headers = Object.fromEntries(
        Object.entries(input.headers).filter((h): h is [string, string] => h[1] !== undefined),
      );
      const event = webhookEvent({
        provider: 'zoom',
        headers,
        body: Buffer.from(input.body).toString('utf8'),
      });
      invocations += 1;
      const answer = await handler(event, lambdaContext(`rivet-${invocations}`), () => undefined);
      if (answer === undefined || typeof answer === 'string') {
        throw new Error(`Rivet answered ${String(answer)}`);
      }
      return {
        statusCode: answer.statusCode,
        contentType: answer.headers?.['Content-Type'],
        body: JSON.parse(answer.body ?? 'null') as unknown,
      };
    }
    const RIVET_ACCEPTED = {
      statusCode: 200,
      contentType: 'application/json',
      body: { message: 'Zoom event processed successfully.' },
    };
    const RIVET_REFUSED = {
      statusCode: 400,
      contentType: 'application/json',
      body: { error: 'Failed to verify event originated from Zoom.' },
    };
    // Rivet's handler logs every event it is handed with console.debug: kept out of the output.
    beforeAll(() => {
      const quiet = vi.spyOn(console, 'debug').mockImplementation(() => undefined);
      return () => quiet.mockRestore();
    });

    it('resolves to hmac sha256 over v0:{timestamp}:{body} (±300 s), keys kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'x-zm-signature',
        prefix: 'v0=',
        timestampHeader: 'x-zm-request-timestamp',
        signedContent: 'v0:{timestamp}:{body}',
        toleranceSeconds: 300,
      });
      expect(facts(config)).toEqual({
        retentionDays: 7,
        signsTimestamp: true,
        signsDeliveryId: false,
      });
    });

    it('accepts an event keyed by the body (a retry signed later is the same), typed by event', () => {
      // Prepare
      const text = body();

      // Act
      const verdict = inspectWith(provider, request(text));
      const retry = inspectWith(provider, {
        ...request(text, SECRET, NOW_SECONDS + 300),
        now: NOW + 300_000,
      });

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(text),
        eventType: 'meeting.started',
        keptHeaders: {
          'content-type': 'application/json; charset=utf-8',
          'x-zm-request-timestamp': String(NOW_SECONDS),
        },
      });
      expect(retry).toMatchObject({ kind: 'accept', deliveryId: sha256(text) });
    });

    it('answers a verified endpoint.url_validation with plainToken and its HMAC by the secret that verified it; a forged one is a 401', () => {
      // Prepare
      const plainToken = 'hookonce-plain-token-0042';
      const text = JSON.stringify({
        payload: { plainToken },
        event_ts: NOW,
        event: 'endpoint.url_validation',
      });

      // Act
      const byNew = inspectWith(provider, request(text, SECRET));
      const byOld = inspectWith(provider, request(text, OLD));
      const forged = inspectWith(provider, request(text, 'zoom-not-the-secret-0000'));

      // Assess: encryptedToken is computed as Zoom's sample does, crypto.createHmac('sha256', secret).update(plainToken).digest('hex').
      expect(byNew).toEqual({
        kind: 'reply',
        statusCode: 200,
        contentType: 'application/json',
        body: JSON.stringify({ plainToken, encryptedToken: mac('sha256', SECRET, plainToken) }),
      });
      expect(byOld).toMatchObject({
        body: JSON.stringify({ plainToken, encryptedToken: mac('sha256', OLD, plainToken) }),
      });
      expect(forged).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('answers any single change to the body, the timestamp or the signature with a 401, never a throw', () => {
      anySignedChangeIs401(provider, (data) => request(body(data)), {
        body: changeBody,
        timestamp: setHeader('x-zm-request-timestamp', (shift) => String(NOW_SECONDS + shift)),
        signature: changeHeader('x-zm-signature'),
      });
    });

    it("is Rivet's verdict on any event Zoom signs (compact JSON, as Zoom sends it): both accept it, both refuse it with a forged signature or timestamp, hookonce with a 401, never a throw", async () => {
      const mutations: Readonly<Record<string, Mutation>> = {
        signature: changeHeader('x-zm-signature'),
        timestamp: setHeader('x-zm-request-timestamp', (shift) => String(NOW_SECONDS + shift)),
      };
      await fc.assert(
        fc.asyncProperty(
          jsonObject(),
          fc.constantFrom(...Object.keys(mutations)),
          fc.nat(),
          fc.nat(),
          fc.integer({ min: -900, max: 900 }).filter((n) => n !== 0),
          async (data, what, position, pick, shift) => {
            // Prepare
            const sent = request(body(data));
            const mutate = mutations[what];
            if (!mutate) throw new Error(what);
            const forged = mutate(sent, position, pick, shift);

            // Act
            const ours = inspectWith(provider, sent);
            const theirs = await rivetAnswer(sent);
            const oursForged = inspectWith(provider, forged);
            const theirsForged = await rivetAnswer(forged);

            // Assess
            expect(ours.kind).toBe('accept');
            expect(theirs).toEqual(RIVET_ACCEPTED);
            expect401(oursForged);
            expect(theirsForged).toEqual(RIVET_REFUSED);
          },
        ),
        { seed: SEED, numRuns: 120 },
      );
    });

    it('answers endpoint.url_validation as Rivet does, by the current secret or the one rotating out; a forged one both refuse', async () => {
      // Prepare
      const plainToken = 'hookonce-plain-token-0042';
      const text = JSON.stringify({
        payload: { plainToken },
        event_ts: NOW,
        event: 'endpoint.url_validation',
      });
      const forged = request(text, 'zoom-not-the-secret-0000');

      for (const secret of [SECRET, OLD]) {
        // Act
        const ours = inspectWith(provider, request(text, secret));
        const theirs = await rivetAnswer(request(text, secret), secret);

        // Assess: the same status, type and members (Rivet writes encryptedToken first).
        expect(ours).toMatchObject({
          kind: 'reply',
          statusCode: theirs.statusCode,
          contentType: theirs.contentType,
        });
        expect(ours.kind === 'reply' && JSON.parse(ours.body)).toEqual(theirs.body);
        expect(theirs).toMatchObject({
          statusCode: 200,
          body: { plainToken, encryptedToken: mac('sha256', secret, plainToken) },
        });
      }
      expect(inspectWith(provider, forged)).toMatchObject({
        kind: 'reject',
        status: 401,
        code: 'signature_mismatch',
      });
      expect(await rivetAnswer(forged)).toEqual(RIVET_REFUSED);
    });

    it('verifies the bytes Zoom signed where Rivet verifies its own re-serialisation of them, and keeps a ±300 s window where Rivet keeps none', async () => {
      // Prepare: a body that is not compact JSON (Zoom sends none such), signed as sent;
      const pretty = request(JSON.stringify(JSON.parse(body()), null, 2));
      // a body signed with 1e+21 (as JSON.stringify writes it) and sent with 1E+21,
      // another text of the same value;
      const signed = request(JSON.stringify({ event: 'meeting.started', payload: { n: 1e21 } }));
      const sameValue = { ...signed, body: String(signed.body).replace('1e+21', '1E+21') };
      // a body signed an hour before NOW.
      const stale = request(body(), SECRET, NOW_SECONDS - 3600);

      // Act, Assess
      expect(inspectWith(provider, pretty).kind).toBe('accept');
      expect(await rivetAnswer(pretty)).toEqual(RIVET_REFUSED);
      expect(sameValue.body).not.toBe(signed.body);
      expect(inspectWith(provider, sameValue)).toMatchObject({ code: 'signature_mismatch' });
      expect(await rivetAnswer(sameValue)).toEqual(RIVET_ACCEPTED);
      expect(inspectWith(provider, stale)).toMatchObject({ code: 'timestamp_too_old' });
      expect(await rivetAnswer(stale)).toEqual(RIVET_ACCEPTED);
    });
  });

  describe('Preset: meta', () => {
    const SECRET = 'meta-app-secret-0123456789abcdef';
    const { provider, config } = declared('whatsapp', { preset: 'meta' });
    const body = (data: unknown = { body: 'hi' }) =>
      JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: '102290129340398',
            changes: [
              {
                field: 'messages',
                value: { messaging_product: 'whatsapp', messages: [{ id: 'wamid.1', data }] },
              },
            ],
          },
        ],
      });

    it('resolves to hmac sha256 over the body in X-Hub-Signature-256, keys kept 30 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'hmac',
        header: 'x-hub-signature-256',
        prefix: 'sha256=',
        eventTypeField: 'object',
      });
      expect(facts(config)).toEqual({
        retentionDays: 30,
        signsTimestamp: false,
        signsDeliveryId: false,
      });
    });

    it('accepts what @octokit/webhooks-methods signs (sha256= and the hex HMAC of the body), keyed by the body, typed by object', async () => {
      // Prepare
      const text = body();
      const signature = await octokitSign(SECRET, text);

      // Act
      const verdict = inspectWith(provider, {
        headers: { 'x-hub-signature-256': signature },
        body: text,
        secrets: [SECRET],
      });

      // Assess
      expect(signature).toBe(`sha256=${mac('sha256', SECRET, text)}`);
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(text),
        eventType: 'whatsapp_business_account',
        keptHeaders: {},
      });
    });

    it('answers any single change to the body or the signature with a 401, never a throw', () => {
      anySignedChangeIs401(
        provider,
        (data) => {
          const text = body(data);
          return {
            headers: { 'x-hub-signature-256': `sha256=${mac('sha256', SECRET, text)}` },
            body: text,
            secrets: [SECRET],
          };
        },
        { body: changeBody, signature: changeHeader('x-hub-signature-256') },
      );
    });
  });

  describe('Preset: plaid', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const KID = '6c5516e1-92dc-479e-a8ff-5a51992e0001';
    // A JWKS as /webhook_verification_key/get returns one, Plaid's own members included.
    const jwk = {
      ...(await exportJWK(pair.publicKey)),
      kid: KID,
      alg: 'ES256',
      use: 'sig',
      created_at: 1560466150,
      expired_at: null,
    } as { kty: string; kid: string };
    const { provider, config } = declared('plaid', { preset: 'plaid', jwks: { keys: [jwk] } });
    const body = (data: unknown = true) =>
      JSON.stringify({
        webhook_type: 'TRANSACTIONS',
        webhook_code: 'SYNC_UPDATES_AVAILABLE',
        item_id: 'wz666MBjYWTp2PDzzggYhM6oWWmBb',
        initial_update_complete: data,
        historical_update_complete: true,
        environment: 'production',
      });
    /** A Plaid-Verification token as Plaid documents it, signed by jose: ES256, kid, iat, request_body_sha256. */
    const token = (text: string, iat = NOW_SECONDS) =>
      new SignJWT({ request_body_sha256: sha256(text) })
        .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
        .setIssuedAt(iat)
        .sign(pair.privateKey);
    const request = (text: string, jwt: string): InspectInput => ({
      headers: { 'plaid-verification': jwt, 'content-type': 'application/json' },
      body: text,
      secrets: [],
    });

    it('resolves to the jwt family: ES256 from the JWKS, iat within 300 s, body hash claim, keyed per token, keys kept 7 days', () => {
      // Assess
      expect(config).toMatchObject({
        scheme: 'jwt',
        header: 'plaid-verification',
        prefix: '',
        algorithms: ['ES256'],
        maxAgeSeconds: 300,
        bodyHashClaim: 'request_body_sha256',
        deliveryKey: 'token',
      });
      expect(facts(config)).toEqual({
        retentionDays: 7,
        signsTimestamp: true,
        signsDeliveryId: false,
      });
    });

    it('accepts a token signed by jose, typed by webhook_code; the same body in a new token is a new delivery, the same token a duplicate', async () => {
      // Prepare
      const text = body();
      const first = await token(text);
      const second = await token(text, NOW_SECONDS + 1);
      const [header = '', claims = ''] = first.split('.');

      // Act
      const verdict = inspectWith(provider, request(text, first));
      const again = inspectWith(provider, request(text, first));
      const next = inspectWith(provider, request(text, second));

      // Assess
      expect(verdict).toEqual({
        kind: 'accept',
        deliveryId: sha256(`${header}.${claims}`),
        eventType: 'SYNC_UPDATES_AVAILABLE',
        keptHeaders: { 'content-type': 'application/json' },
      });
      expect(again).toEqual(verdict);
      expect(next).toMatchObject({ kind: 'accept' });
      expect((next as { deliveryId: string }).deliveryId).not.toBe(
        (verdict as { deliveryId: string }).deliveryId,
      );
    });

    it('refuses a token issued more than 300 s ago, and one over another body', async () => {
      // Act
      const stale = inspectWith(provider, request(body(), await token(body(), NOW_SECONDS - 301)));
      const otherBody = inspectWith(provider, request(body(false), await token(body())));

      // Assess
      expect(stale).toMatchObject({ kind: 'reject', status: 401, code: 'timestamp_too_old' });
      expect(otherBody).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('answers any single change to the body or the token with a 401, never a throw', async () => {
      // Prepare: jose signs asynchronously, so the tokens are made before the property runs.
      const bodies = [true, false, 0, 'x'].map((v) => body(v));
      const tokens = await Promise.all(bodies.map((text) => token(text)));

      // Assess
      fc.assert(
        fc.property(
          fc.nat({ max: bodies.length - 1 }),
          fc.constantFrom('body', 'token'),
          fc.nat(),
          fc.nat(),
          (which, what, position, pick) => {
            const text = bodies[which] ?? '';
            const jwt = tokens[which] ?? '';
            const input = request(text, jwt);
            const changed =
              what === 'body'
                ? { ...input, body: changeOneByte(text, position, pick + 1) }
                : request(text, changeOneCharacter(jwt, position, pick));
            expect(inspectWith(provider, input).kind).toBe('accept');
            expect401(inspectWith(provider, changed));
          },
        ),
        { seed: SEED, numRuns: 200 },
      );
    });
  });
});

/**
 * The family options these presets needed, each on a plain family declaration:
 * what they answer, what they refuse when resolved, and that nothing about them
 * runs before the signature is verified.
 */
describe('Module: family additions for presets-more', () => {
  const SECRET = 'hookonce-family-secret-01';
  const OLD = 'hookonce-family-secret-00';

  function problemsOf(declaration: ProviderDeclaration): string {
    try {
      resolveDeclaration({ providers: { acme: declaration }, subscribers: {} });
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  }

  describe('Option: handshake.replyText and handshake.replyObject', () => {
    const { provider } = declared('acme', {
      scheme: 'hmac',
      header: 'x-sig',
      algorithm: 'sha256',
      encoding: 'hex',
      eventTypeField: 'type',
      handshake: {
        jsonField: 'type',
        equals: 'challenge',
        replyObject: {
          echo: { jsonField: 'data.token' },
          signed: { hmacOfField: 'data.token' },
        },
      },
    });
    const { provider: texting } = declared('acme', {
      scheme: 'hmac',
      header: 'x-sig',
      algorithm: 'sha256',
      encoding: 'base64',
      handshake: { jsonField: 'type', equals: 'challenge', replyText: { jsonField: 'data.token' } },
    });
    const signed = (text: string, secret = SECRET, encoding: 'hex' | 'base64' = 'hex') => ({
      headers: { 'x-sig': mac('sha256', secret, text, encoding) },
      body: text,
      secrets: [SECRET, OLD],
    });
    const CHALLENGE = JSON.stringify({ type: 'challenge', data: { token: 'tok-1' } });

    it('answers replyObject with the field and its HMAC keyed by whichever active secret verified the request', () => {
      // Act
      const byNew = inspectWith(provider, signed(CHALLENGE, SECRET));
      const byOld = inspectWith(provider, signed(CHALLENGE, OLD));

      // Assess
      expect(byNew).toEqual({
        kind: 'reply',
        statusCode: 200,
        contentType: 'application/json',
        body: JSON.stringify({ echo: 'tok-1', signed: mac('sha256', SECRET, 'tok-1') }),
      });
      expect(byOld).toMatchObject({
        body: JSON.stringify({ echo: 'tok-1', signed: mac('sha256', OLD, 'tok-1') }),
      });
    });

    it('answers replyText with the field as text/plain, in no encoding of its own', () => {
      // Act
      const verdict = inspectWith(texting, signed(CHALLENGE, SECRET, 'base64'));

      // Assess
      expect(verdict).toEqual({
        kind: 'reply',
        statusCode: 200,
        contentType: 'text/plain',
        body: 'tok-1',
      });
    });

    it.each([
      ['is missing', { type: 'challenge', data: {} }],
      ['is not text', { type: 'challenge', data: { token: 42 } }],
      ['is empty', { type: 'challenge', data: { token: '' } }],
      ['is over 4,096 characters', { type: 'challenge', data: { token: 'x'.repeat(4097) } }],
    ])('answers a verified handshake whose field %s with 400 malformed_body', (_, body) => {
      // Prepare
      const text = JSON.stringify(body);

      // Act
      const object = inspectWith(provider, signed(text));
      const plain = inspectWith(texting, signed(text, SECRET, 'base64'));

      // Assess
      expect(object).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_body' });
      expect(plain).toMatchObject({ kind: 'reject', status: 400, code: 'malformed_body' });
    });

    it('answers a forged handshake with 401 before reading its body', () => {
      // Act
      const verdict = inspectWith(provider, signed(CHALLENGE, 'not-an-active-secret-000'));

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'signature_mismatch' });
    });

    it('refuses, when resolved, two kinds of reply, an hmacOfField outside the hmac family, and a malformed member', () => {
      // Act
      const two = problemsOf({
        scheme: 'hmac',
        header: 'x-sig',
        algorithm: 'sha256',
        encoding: 'hex',
        handshake: { jsonField: 't', equals: 1, reply: {}, replyText: { jsonField: 'c' } },
      });
      const token = problemsOf({
        scheme: 'token',
        header: 'x-token',
        handshake: { jsonField: 't', equals: 1, replyObject: { s: { hmacOfField: 'c' } } },
      });
      const members = problemsOf({
        scheme: 'hmac',
        header: 'x-sig',
        algorithm: 'sha256',
        encoding: 'hex',
        handshake: {
          jsonField: 't',
          equals: 1,
          replyObject: { both: { jsonField: 'a', hmacOfField: 'b' } as never },
        },
      });
      const empty = problemsOf({
        scheme: 'hmac',
        header: 'x-sig',
        algorithm: 'sha256',
        encoding: 'hex',
        handshake: { jsonField: 't', equals: 1, replyObject: {} },
      });

      // Assess
      expect(two).toContain(
        'provider "acme": a handshake answers with one of reply, replyText and replyObject',
      );
      expect(token).toContain(
        'provider "acme": handshake.replyObject.s.hmacOfField needs a shared secret to sign with: only scheme "hmac" has one',
      );
      expect(members).toContain(
        'provider "acme": handshake.replyObject.both is either { jsonField } or { hmacOfField }',
      );
      expect(empty).toContain(
        'provider "acme": handshake.replyObject must be an object of 1 to 8 members',
      );
    });
  });

  describe('Option: structured.setSeparator', () => {
    const { provider, config } = declared('acme', {
      scheme: 'hmac',
      header: 'x-sig',
      structured: { signatureKey: 'v1', timestampKey: 't', setSeparator: ' ' },
      algorithm: 'sha256',
      encoding: 'hex',
    });
    const body = '{"a":1}';
    const set = (secret: string, t = NOW_SECONDS) =>
      `t=${t},v1=${mac('sha256', secret, `${t}.${body}`)}`;
    const inspect = (header: string) =>
      inspectWith(provider, { headers: { 'x-sig': header }, body, secrets: [SECRET] });

    it('accepts one set, or several with the same timestamp where any one matches', () => {
      // Act
      const verdicts = [
        set(SECRET),
        `${set(OLD)} ${set(SECRET)}`,
        `${set(SECRET)}  ${set(OLD)}`,
      ].map(inspect);

      // Assess
      for (const verdict of verdicts) {
        expect(verdict).toMatchObject({ kind: 'accept', deliveryId: sha256(body) });
      }
    });

    it.each([
      ['sets with different timestamps', () => `${set(SECRET)} ${set(OLD, NOW_SECONDS + 1)}`],
      ['two t= in one set', () => `t=${NOW_SECONDS},${set(SECRET)}`],
    ])('refuses %s as malformed_signature', (_, header) => {
      // Act
      const verdict = inspect(header());

      // Assess
      expect(verdict).toMatchObject({ kind: 'reject', status: 401, code: 'malformed_signature' });
    });

    it('writes one set per signature when signing, as the verifier reads them', () => {
      // Prepare
      const signatures = [SECRET, OLD].map((s) => mac('sha256', s, `${NOW_SECONDS}.${body}`));

      // Act
      const header = writeSignatureHeader(config as ResolvedHmac, signatures, String(NOW_SECONDS));

      // Assess
      expect(header).toBe(`${set(SECRET)} ${set(OLD)}`);
      expect(inspect(header)).toMatchObject({ kind: 'accept' });
    });

    it('refuses, when resolved, a set separator without a timestamp key or equal to the item separator', () => {
      // Act
      const noTimestamp = problemsOf({
        scheme: 'hmac',
        header: 'x-sig',
        structured: { signatureKey: 'v1', setSeparator: ' ' },
        algorithm: 'sha256',
        encoding: 'hex',
      });
      const same = problemsOf({
        scheme: 'hmac',
        header: 'x-sig',
        structured: { signatureKey: 'v1', timestampKey: 't', setSeparator: ',' },
        algorithm: 'sha256',
        encoding: 'hex',
      });

      // Assess
      expect(noTimestamp).toContain(
        'provider "acme": structured.setSeparator needs structured.timestampKey: each set carries its timestamp',
      );
      expect(same).toContain(
        'provider "acme": structured.setSeparator must differ from the separator and the assignment',
      );
    });
  });

  describe('Option: eventTypeWhen', () => {
    const when = (
      rule: { equals?: string; notEquals?: string },
      scheme: 'hmac' | 'token' = 'hmac',
    ) =>
      declared(
        'acme',
        scheme === 'hmac'
          ? {
              scheme: 'hmac',
              header: 'x-sig',
              algorithm: 'sha256',
              encoding: 'hex',
              eventTypeField: 'kind',
              eventTypeWhen: { jsonField: 'state', ...rule, eventType: 'revocation' },
            }
          : {
              scheme: 'token',
              header: 'x-token',
              eventTypeField: 'kind',
              eventTypeWhen: { jsonField: 'state', ...rule, eventType: 'revocation' },
            },
      ).provider;
    const hmacRequest = (body: unknown) => {
      const text = JSON.stringify(body);
      return { headers: { 'x-sig': mac('sha256', SECRET, text) }, body: text, secrets: [SECRET] };
    };

    it('types a matching body by the rule and any other by the usual source, signed where the body is', () => {
      // Prepare
      const notEnabled = when({ notEquals: 'enabled' });
      const revoked = when({ equals: 'revoked' });

      // Act
      const verdicts = [
        inspectWith(notEnabled, hmacRequest({ state: 'enabled', kind: 'follow' })),
        inspectWith(notEnabled, hmacRequest({ state: 'user_removed', kind: 'follow' })),
        inspectWith(notEnabled, hmacRequest({ kind: 'follow' })),
        inspectWith(revoked, hmacRequest({ state: 'revoked', kind: 'follow' })),
        inspectWith(revoked, hmacRequest({ state: 'enabled', kind: 'follow' })),
      ];

      // Assess
      expect(verdicts.map((v) => (v.kind === 'accept' ? v.eventType : v.kind))).toEqual([
        'follow',
        'revocation',
        'revocation',
        'revocation',
        'follow',
      ]);
      for (const verdict of verdicts) expect(verdict).not.toHaveProperty('unsignedEventType');
    });

    it('marks the type unsigned when nothing signs the body (token)', () => {
      // Prepare
      const provider = when({ equals: 'revoked' }, 'token');

      // Act
      const verdict = inspectWith(provider, {
        headers: { 'x-token': SECRET },
        body: JSON.stringify({ state: 'revoked', kind: 'follow' }),
        secrets: [SECRET],
      });

      // Assess
      expect(verdict).toMatchObject({
        kind: 'accept',
        eventType: 'revocation',
        unsignedEventType: true,
      });
    });

    it('refuses, when resolved, both or neither of equals and notEquals, and an unusable type', () => {
      // Act
      const problems = [
        { equals: 'a', notEquals: 'b', eventType: 'x' },
        { eventType: 'x' },
        { equals: 'a', eventType: 'not a type' },
      ].map((rule) =>
        problemsOf({
          scheme: 'token',
          header: 'x-token',
          eventTypeWhen: { jsonField: 'state', ...rule },
        }),
      );

      // Assess
      expect(problems[0]).toContain('eventTypeWhen takes exactly one of equals and notEquals');
      expect(problems[1]).toContain('eventTypeWhen takes exactly one of equals and notEquals');
      expect(problems[2]).toContain(
        'eventTypeWhen.eventType must be 1 to 128 letters, digits and _ . / : -, got "not a type"',
      );
    });
  });

  describe("Option: jwt deliveryKey 'token'", async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1' } as { kty: string };
    const declare = (deliveryKey?: 'body' | 'token') =>
      declared('acme', {
        scheme: 'jwt',
        algorithms: ['ES256'],
        jwks: { keys: [jwk] },
        bodyHashClaim: 'body_sha256',
        ...(deliveryKey ? { deliveryKey } : {}),
      }).provider;
    const BODY = '{"code":"SAME_EVERY_TIME"}';
    const token = (iat: number) =>
      new SignJWT({ body_sha256: sha256(BODY) })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuedAt(iat)
        .sign(pair.privateKey);
    const inspect = (provider: Provider, jwt: string) =>
      inspectWith(provider, {
        headers: { authorization: `Bearer ${jwt}` },
        body: BODY,
        secrets: [],
      });
    /** The same token with the other valid ECDSA signature (s → n − s), which P-256 verifiers accept. */
    const otherForm = (jwt: string) => {
      const [header, claims, signature = ''] = jwt.split('.');
      const bytes = Buffer.from(signature, 'base64url');
      const n = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
      const s = n - BigInt(`0x${bytes.subarray(32).toString('hex')}`);
      const sBytes = Buffer.from(s.toString(16).padStart(64, '0'), 'hex');
      return `${header}.${claims}.${Buffer.concat([bytes.subarray(0, 32), sBytes]).toString('base64url')}`;
    };

    it('keys each token by its header and claims: two tokens over one body are two deliveries, where the default keys them as one', async () => {
      // Prepare
      const [first, second] = [await token(NOW_SECONDS), await token(NOW_SECONDS + 5)];

      // Act
      const byToken = [first, second].map((jwt) => inspect(declare('token'), jwt));
      const byBody = [first, second].map((jwt) => inspect(declare(), jwt));

      // Assess
      const keys = byToken.map((v) => (v.kind === 'accept' ? v.deliveryId : v.kind));
      expect(keys[0]).toBe(sha256(first.split('.').slice(0, 2).join('.')));
      expect(keys[1]).not.toBe(keys[0]);
      expect(byBody.map((v) => (v.kind === 'accept' ? v.deliveryId : v.kind))).toEqual([
        sha256(BODY),
        sha256(BODY),
      ]);
    });

    it('keeps the key of a token whose ECDSA signature is rewritten in its other valid form', async () => {
      // Prepare
      const jwt = await token(NOW_SECONDS);
      const provider = declare('token');

      // Act
      const original = inspect(provider, jwt);
      const rewritten = inspect(provider, otherForm(jwt));

      // Assess: node:crypto verifies both forms, so the signature must not be what keys it.
      expect(original).toMatchObject({ kind: 'accept' });
      expect(otherForm(jwt)).not.toBe(jwt);
      expect(rewritten).toEqual(original);
    });

    it('refuses, when resolved, any other deliveryKey', () => {
      // Act
      const problems = problemsOf({
        scheme: 'jwt',
        algorithms: ['ES256'],
        jwks: { keys: [jwk] },
        deliveryKey: 'jti' as never,
      });

      // Assess
      expect(problems).toContain(
        'provider "acme": deliveryKey must be "body" or "token", got "jti"',
      );
    });
  });

  describe('Function: resolveDeclaration, warnings for preset ids', () => {
    it('says nothing of the unsigned id a preset declares, and warns of one the declaration adds or changes', () => {
      // Act
      const presetOwn = resolveDeclaration({
        providers: {
          bitbucket: { preset: 'bitbucket' },
          sentry: { preset: 'sentry' },
          postmark: { preset: 'postmark' },
          telegram: { preset: 'telegram' },
        },
        subscribers: {},
      }).warnings;
      const declaredId = resolveDeclaration({
        providers: { bitbucket: { preset: 'bitbucket', deliveryId: { header: 'x-hook-uuid' } } },
        subscribers: {},
      }).warnings;

      // Assess
      expect(presetOwn).toEqual([]);
      expect(declaredId).toEqual([
        expect.stringContaining(
          'provider "bitbucket": the delivery id header "x-hook-uuid" is not in signedContent',
        ),
      ]);
    });
  });
});
