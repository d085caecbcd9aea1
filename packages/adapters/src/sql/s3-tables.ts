/** Tables of the S3 door (migration 0005-s3). Times are epoch ms, metadata is JSON text. */
export type S3Tables = {
  s3_multipart_uploads: {
    upload_id: string;
    bucket: string;
    object_key: string;
    content_type: string;
    metadata: string;
    initiated_by: string;
    initiated_at: number;
  };
  s3_multipart_parts: {
    upload_id: string;
    part_number: number;
    part_id: string;
    etag: string;
    size: number;
    last_modified: number;
  };
};
