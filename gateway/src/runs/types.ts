/**
 * Types shared by the run core and its adapters.
 * @module
 */
import type { runCodeInputSchema } from '@codecell/protocol';
import type { z } from 'zod';

/** `runCode` input after parsing (defaults applied). */
export type ParsedRunCodeInput = z.output<typeof runCodeInputSchema>;
