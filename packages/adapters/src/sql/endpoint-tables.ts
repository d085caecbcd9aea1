/** Tables of migration 0010-endpoints. Times epoch ms, documents JSON text. */
interface NamedDocumentTable {
  name: string;
  document: string;
  created_at: number;
}

export interface EndpointsTable extends NamedDocumentTable {
  version: number;
  updated_at: number;
}

export interface EndpointInstancesTable {
  instance_id: string;
  endpoint_name: string;
  owner: string;
  document: string;
  updated_at: number;
}

export type EndpointTables = {
  models: NamedDocumentTable;
  endpoint_configs: NamedDocumentTable;
  endpoints: EndpointsTable;
  endpoint_instances: EndpointInstancesTable;
};
