import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { DependencyError } from '../shared/errors.ts';
import type { EncodedEvent } from './envelope.ts';

/** SNS's limit on one message, attributes included. */
export const SNS_MAX_MESSAGE_BYTES = 256 * 1024;

export interface EventPublisher {
  publish(event: EncodedEvent): Promise<void>;
}

/**
 * Publishes an envelope to the topic once. The `provider` and `type` message
 * attributes are what subscribers' filter policies match.
 */
export class SnsPublisher implements EventPublisher {
  readonly #client: SNSClient;
  readonly #topicArn: string;

  constructor(options: { client: SNSClient; topicArn: string }) {
    this.#client = options.client;
    this.#topicArn = options.topicArn;
  }

  async publish(event: EncodedEvent): Promise<void> {
    try {
      await this.#client.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          Message: event.message,
          MessageAttributes: {
            provider: { DataType: 'String', StringValue: event.provider },
            type: { DataType: 'String', StringValue: event.type },
          },
        }),
      );
    } catch (error) {
      throw new DependencyError('sns', 'SNS publish failed', { cause: error });
    }
  }
}
