/**
 * Region and credentials the local emulators accept (they check neither); apart
 * from the emulators, so the CLI reads them without loading the emulators' code.
 */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
