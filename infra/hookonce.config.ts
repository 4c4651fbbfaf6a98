import type { HookonceDeclaration } from '../functions/shared/declaration.ts';

/**
 * The default declaration: what `npm start` serves and what `cdk deploy`
 * creates. Edit it to add providers and subscribers (see README, Configuration).
 */
export const declaration: HookonceDeclaration = {
  name: 'hookonce',
  providers: {
    // Standard Webhooks: webhook-id / webhook-timestamp / webhook-signature, whsec_ secrets.
    standard: { scheme: 'standard-webhooks' },
  },
  subscribers: {
    // Receives every event; its consumer counts each event's effect, once.
    example: {
      consumer: { entry: 'functions/consumers/example/handler.ts' },
    },
  },
};
