import { TrainyardError } from '@trainyard/contracts/errors';
import type {
  MultipartUpload,
  MultipartUploadStore,
  UploadedPart,
} from '@trainyard/core/ports/multipart-upload-store';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from './database.js';
import type { S3Tables } from './s3-tables.js';
import { sqlCall } from './sql-errors.js';

function fromRow(row: Selectable<S3Tables['s3_multipart_uploads']>): MultipartUpload {
  return {
    uploadId: row.upload_id,
    bucket: row.bucket,
    key: row.object_key,
    contentType: row.content_type,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    initiatedBy: row.initiated_by,
    initiatedAt: new Date(Number(row.initiated_at)),
  };
}

function noSuchUpload(uploadId: string): TrainyardError {
  return new TrainyardError(
    'NOT_FOUND',
    `multipart upload ${uploadId} does not exist (completed or aborted?)`,
    {
      uploadId,
    },
  );
}

/** MultipartUploadStore over Kysely (SQLite and PostgreSQL). */
export class MultipartUploadSqlStore implements MultipartUploadStore {
  private readonly db: Kysely<Database & S3Tables>;

  constructor(db: Kysely<Database>) {
    this.db = db.withTables<S3Tables>();
  }

  async create(upload: MultipartUpload): Promise<MultipartUpload> {
    await sqlCall(`multipart upload ${upload.uploadId}`, () =>
      this.db
        .insertInto('s3_multipart_uploads')
        .values({
          upload_id: upload.uploadId,
          bucket: upload.bucket,
          object_key: upload.key,
          content_type: upload.contentType,
          metadata: JSON.stringify(upload.metadata),
          initiated_by: upload.initiatedBy,
          initiated_at: upload.initiatedAt.getTime(),
        })
        .execute(),
    );
    return upload;
  }

  async get(uploadId: string): Promise<MultipartUpload> {
    const row = await sqlCall('multipart upload', () =>
      this.db
        .selectFrom('s3_multipart_uploads')
        .selectAll()
        .where('upload_id', '=', uploadId)
        .executeTakeFirst(),
    );
    if (!row) throw noSuchUpload(uploadId);
    return fromRow(row);
  }

  async list(bucket: string, options: { prefix?: string; limit?: number } = {}): Promise<MultipartUpload[]> {
    let query = this.db.selectFrom('s3_multipart_uploads').selectAll().where('bucket', '=', bucket);
    if (options.prefix) {
      // Range instead of LIKE: keys may hold % and _, and the range uses the index on both dialects.
      query = query
        .where('object_key', '>=', options.prefix)
        .where('object_key', '<', `${options.prefix}\u{10ffff}`);
    }
    const rows = await sqlCall('multipart uploads', () =>
      query
        .orderBy('object_key')
        .orderBy('initiated_at')
        .limit(options.limit ?? 1000)
        .execute(),
    );
    return rows.map(fromRow);
  }

  async putPart(uploadId: string, part: UploadedPart): Promise<void> {
    await this.get(uploadId);
    const values = {
      part_id: part.partId,
      etag: part.etag,
      size: part.size,
      last_modified: part.lastModified.getTime(),
    };
    await sqlCall(`part ${part.partNumber} of upload ${uploadId}`, () =>
      this.db
        .insertInto('s3_multipart_parts')
        .values({ upload_id: uploadId, part_number: part.partNumber, ...values })
        .onConflict((oc) => oc.columns(['upload_id', 'part_number']).doUpdateSet(values))
        .execute(),
    );
    // An abort may have raced this write: do not leave parts of an upload that no longer exists.
    const still = await this.db
      .selectFrom('s3_multipart_uploads')
      .select('upload_id')
      .where('upload_id', '=', uploadId)
      .executeTakeFirst();
    if (!still) {
      await this.db.deleteFrom('s3_multipart_parts').where('upload_id', '=', uploadId).execute();
      throw noSuchUpload(uploadId);
    }
  }

  async listParts(
    uploadId: string,
    options: { afterPartNumber?: number; limit?: number } = {},
  ): Promise<UploadedPart[]> {
    const rows = await sqlCall('multipart parts', () =>
      this.db
        .selectFrom('s3_multipart_parts')
        .selectAll()
        .where('upload_id', '=', uploadId)
        .where('part_number', '>', options.afterPartNumber ?? 0)
        .orderBy('part_number')
        .limit(options.limit ?? 10_000)
        .execute(),
    );
    return rows.map((row) => ({
      partNumber: Number(row.part_number),
      partId: row.part_id,
      etag: row.etag,
      size: Number(row.size),
      lastModified: new Date(Number(row.last_modified)),
    }));
  }

  async delete(uploadId: string): Promise<void> {
    await sqlCall('multipart upload', async () => {
      // Upload first: a putPart racing this sees the upload gone and removes its own part row.
      await this.db.deleteFrom('s3_multipart_uploads').where('upload_id', '=', uploadId).execute();
      await this.db.deleteFrom('s3_multipart_parts').where('upload_id', '=', uploadId).execute();
    });
  }
}
