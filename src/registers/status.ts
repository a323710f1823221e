/** Register status (§6.3) → typed error, with flint's ME_REG_ACCESS_* names in the message. */
import { Fs3BurnError, type ErrorCode } from '../errors.js';

interface StatusInfo {
  code: ErrorCode;
  flint: string;
  text: string;
  hint?: string;
}

const BAD_PARAM_HINT =
  'This may indicate that a FW image was already updated on flash, but not loaded by the device; reset the card and retry';

const TABLE: Readonly<Record<number, StatusInfo>> = {
  1: { code: 'REGISTER_DEV_BUSY', flint: 'ME_REG_ACCESS_DEV_BUSY', text: 'device busy', hint: 'the firmware is busy; wait and retry' },
  2: { code: 'REGISTER_VERSION_NOT_SUPPORTED', flint: 'ME_REG_ACCESS_VER_NOT_SUPP', text: 'version not supported' },
  3: { code: 'REGISTER_UNKNOWN_TLV', flint: 'ME_REG_ACCESS_UNKNOWN_TLV', text: 'unknown TLV' },
  4: {
    code: 'REGISTER_NOT_SUPPORTED',
    flint: 'ME_REG_ACCESS_REG_NOT_SUPP',
    text: 'register not supported',
    hint: 'the running firmware does not implement this register (older firmware)',
  },
  5: { code: 'REGISTER_CLASS_NOT_SUPPORTED', flint: 'ME_REG_ACCESS_CLASS_NOT_SUPP', text: 'class not supported' },
  6: { code: 'REGISTER_METHOD_NOT_SUPPORTED', flint: 'ME_REG_ACCESS_METHOD_NOT_SUPP', text: 'method not supported' },
  7: { code: 'REGISTER_BAD_PARAM', flint: 'ME_REG_ACCESS_BAD_PARAM', text: 'bad parameter', hint: BAD_PARAM_HINT },
  8: { code: 'REGISTER_RESOURCE_NOT_AVAILABLE', flint: 'ME_REG_ACCESS_RES_NOT_AVLBL', text: 'resource not available' },
  9: { code: 'REGISTER_MSG_RECEIPT_ACK', flint: 'ME_REG_ACCESS_MSG_RECPT_ACK', text: 'message receipt ack' },
};

export function registerStatusError(status: number, context: string, data: Record<string, unknown>): Fs3BurnError {
  const info = TABLE[status];
  if (!info) {
    return new Fs3BurnError('REGISTER_STATUS_UNKNOWN', `${context}: register access failed with unknown status ${status}`, {
      data: { ...data, status },
    });
  }
  return new Fs3BurnError(info.code, `${context}: ${info.text} (${info.flint})`, {
    ...(info.hint ? { hint: info.hint } : {}),
    data: { ...data, status, flintName: info.flint },
  });
}
