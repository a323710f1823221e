/** Access register IDs (§4.3, §3.3; `reg_access/reg_access.c`). */
export const RegId = {
  MFPA: 0x9010,
  MFBA: 0x9011,
  MFBE: 0x9012,
  MFMC: 0x9013,
  MGIR: 0x9020,
  MFRL: 0x9028,
  MFAI: 0x9029,
  MCDD: 0x905c,
  MCQS: 0x9060,
  MCQI: 0x9061,
  MCC: 0x9062,
  MCDA: 0x9063,
  MQIS: 0x9064,
  MCAM: 0x907f,
} as const;

const NAMES = new Map<number, string>(Object.entries(RegId).map(([k, v]) => [v, k]));

export function registerName(id: number): string {
  return NAMES.get(id) ?? `0x${id.toString(16)}`;
}

/** Access methods in the operation TLV (§6.3). */
export const Method = { GET: 1, SET: 2 } as const;
export type MethodName = keyof typeof Method;
