/** A valid input of each model registry operation, for the door's fuzz test to corrupt member by member. */
export const registryFuzzInputs: Record<string, Record<string, unknown>> = {
  CreateModelPackageGroup: { ModelPackageGroupName: 'fuzz-group', ModelPackageGroupDescription: 'fuzzed' },
  DescribeModelPackageGroup: { ModelPackageGroupName: 'fuzz-never-created' },
  ListModelPackageGroups: { NameContains: 'x', MaxResults: 5, SortBy: 'Name', SortOrder: 'Ascending' },
  DeleteModelPackageGroup: { ModelPackageGroupName: 'fuzz-never-created' },
  CreateModelPackage: {
    ModelPackageGroupName: 'fuzz-never-created',
    ModelPackageDescription: 'fuzzed',
    InferenceSpecification: {
      Containers: [{ Image: 'trainyard/model-server', ModelDataUrl: 's3://work/m/model.tar.gz' }],
      SupportedContentTypes: ['text/csv'],
      SupportedResponseMIMETypes: ['text/csv'],
    },
    ModelApprovalStatus: 'PendingManualApproval',
    CustomerMetadataProperties: { team: 'fuzz' },
    ModelMetrics: {
      ModelQuality: {
        Statistics: { ContentType: 'application/json', S3Uri: 's3://work/eval/statistics.json' },
      },
    },
    Tags: [{ Key: 'team', Value: 'fuzz' }],
    Domain: 'MACHINE_LEARNING',
    Task: 'CLASSIFICATION',
  },
  DescribeModelPackage: { ModelPackageName: 'fuzz-never-created/1' },
  ListModelPackages: {
    ModelPackageGroupName: 'fuzz-never-created',
    ModelApprovalStatus: 'Approved',
    MaxResults: 5,
    SortOrder: 'Descending',
  },
  UpdateModelPackage: {
    ModelPackageArn: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/fuzz-never-created/1',
    ModelApprovalStatus: 'Approved',
    ApprovalDescription: 'fuzzed',
  },
  DeleteModelPackage: { ModelPackageName: 'fuzz-never-created/1' },
};

/** CreateModelPackageGroup has three members: far fewer ways to corrupt it than the job creates. */
export const registryMinimumMutations: Record<string, number> = { CreateModelPackageGroup: 8 };
