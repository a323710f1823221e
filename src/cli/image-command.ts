import type { Command } from 'commander';
// Placeholder: replaced by the image-builder work (issue 2).
export function registerImageCommands(_program: Command): void {}
