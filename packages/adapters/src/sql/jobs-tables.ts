/** Tables of the job runner (migration 0004-jobs). Times epoch ms, documents JSON text. */
export interface JobsTable {
  id: string;
  kind: string;
  name: string;
  arn: string;
  status: string;
  secondary_status: string;
  transitions: string;
  spec: string;
  result: string | null;
  failure: string | null;
  exit_message: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  ended_at: number | null;
  attempts: number;
  claim_holder: string | null;
  claim_expires_at: number | null;
  version: number;
}

export interface JobLogsTable {
  job_id: string;
  seq: number;
  at: number;
  stream: string;
  message: string;
}

export type JobsTables = {
  jobs: JobsTable;
  job_logs: JobLogsTable;
};
