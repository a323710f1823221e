import type { Command } from 'commander';
// Placeholder: replaced by the MFA1 work (issue 2).
export function registerMfaCommands(_program: Command): void {}
