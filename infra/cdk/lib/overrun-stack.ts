// The same stack as infra/template.yaml, in the CDK: tables, encrypted topic, three functions
// with least-privilege roles, schedules, the task-event rule, a failure queue and alarms.
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, StackProps, CfnOutput } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';

/** Every tuning knob of the functions, with the functions' own defaults. */
export interface OverrunSettings {
  taskEventSource: string;
  /** The HTTPS ingest endpoint (a function URL) for OpenLineage, GitHub webhooks and check-ins. */
  httpsIngest: boolean;
  /** ARN of a Secrets Manager secret holding a PagerDuty Events API v2 routing key: alerts trigger and resolve incidents. */
  pagerDutySecretArn?: string;
  /** ARN of a Secrets Manager secret holding a Slack incoming webhook URL: every message is posted there. */
  slackWebhookSecretArn?: string;
  nightlyHour: number;
  alertEmail?: string;
  alertPhoneNumber?: string;
  /** `tailored` (the default), `guarded` or `seed` (docs/DETECTION.md). */
  method: string;
  /** Limit = mean + k·σ (tailored: the price of a false page); unset takes the method's own (4 for guarded, 2 for seed, 6 for tailored). */
  k?: number;
  windowDays: number;
  minSamples: number;
  criticalFactor: number;
  /** Limit for runs of types with no baseline yet, in seconds; 0 turns it off. Twelve hours by default. */
  fallbackLimitSeconds: number;
  retentionDays: number;
  /** Too-short notices below this fraction of the expected duration; 0 turns them off. */
  shortFraction: number;
  /** How far ahead of its arrival an event's times may be, 0 to 3600 seconds. */
  clockSkewSeconds: number;
  /** Optional cap on the HTTPS ingest function's concurrent invocations (1 to 9999; unset: none). */
  httpsIngestReservedConcurrency?: number;
  /** Minutes between checks: 1, 2, 5, 10, 15, 30 or 60. */
  checkIntervalMinutes: number;
  /** Warned runs stay out of baselines up to this share of a window; unset takes the method's own (0.1 for guarded, none for seed). */
  exclusionCap?: number;
  /** Tailored only: each run's limit also weighs the N latest succeeded runs of its type that had ended when it started; unset takes the method's own (3 for tailored, none for the others), 0 turns it off. */
  recentRuns?: number;
  /** With recentRuns: the share of the weight those runs get between them, in (0, 1). */
  recentWeight: number;
  /** An event bus the stack creates for task events forwarded from other accounts (infra/member.yaml); the account's default bus is still heard. */
  centralBusName?: string;
  /** AWS Organization (o-…) whose accounts may put events on the central bus. */
  centralBusOrganizationId?: string;
  /** Account IDs that may put events on the central bus. */
  centralBusAccounts?: string[];
  /** Whether task types say where they ran: 'none' (the default), 'account' (nightly-export@123456789012) or 'account-region'; with it on, HTTPS sources' types carry their source's name. */
  qualifyTaskTypes: 'none' | 'account' | 'account-region';
  /** Whether a task type whose own history shows a weekly season is judged by season. */
  seasons: boolean;
  /** The IANA time zone whose weekends count for seasons (daylight saving followed). */
  seasonZone: string;
}

export const DEFAULTS: OverrunSettings = {
  taskEventSource: 'overrun.tasks',
  httpsIngest: true,
  nightlyHour: 0,
  method: 'tailored',
  checkIntervalMinutes: 10,
  windowDays: 14,
  minSamples: 5,
  criticalFactor: 2,
  retentionDays: 35,
  shortFraction: 0.25,
  clockSkewSeconds: 300,
  fallbackLimitSeconds: 43200,
  recentWeight: 0.3,
  qualifyTaskTypes: 'none',
  seasons: true,
  seasonZone: 'UTC',
};

export interface OverrunStackProps extends StackProps {
  /** Directory holding `ingest/bootstrap`, `http-ingest/bootstrap`, `baseline/bootstrap`, `checker/bootstrap`. */
  assetsDir: string;
  settings?: Partial<OverrunSettings>;
}

export class OverrunStack extends Stack {
  readonly runsTable: dynamodb.Table;
  readonly statsTable: dynamodb.Table;
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: OverrunStackProps) {
    super(scope, id, props);
    const s: OverrunSettings = { ...DEFAULTS, ...props.settings };
    if (!/^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/.test(s.seasonZone)) {
      throw new Error(`seasonZone must be an IANA time zone such as Europe/Berlin or UTC, got ${JSON.stringify(s.seasonZone)}`);
    }
    if (!['none', 'account', 'account-region'].includes(s.qualifyTaskTypes)) {
      throw new Error(`qualifyTaskTypes must be none, account or account-region, got ${JSON.stringify(s.qualifyTaskTypes)}`);
    }
    if (!Number.isInteger(s.nightlyHour) || s.nightlyHour < 0 || s.nightlyHour > 23) {
      throw new Error(`nightlyHour must be 0 to 23, got ${s.nightlyHour}`);
    }
    if (
      s.httpsIngestReservedConcurrency !== undefined &&
      !(Number.isInteger(s.httpsIngestReservedConcurrency) && s.httpsIngestReservedConcurrency >= 1 && s.httpsIngestReservedConcurrency <= 9999)
    ) {
      throw new Error(`httpsIngestReservedConcurrency must be 1 to 9999, got ${s.httpsIngestReservedConcurrency}`);
    }
    if (!(Number.isInteger(s.clockSkewSeconds) && s.clockSkewSeconds >= 0 && s.clockSkewSeconds <= 3600)) {
      throw new Error(`clockSkewSeconds must be 0 to 3600, got ${s.clockSkewSeconds}`);
    }
    if (!(s.shortFraction >= 0 && s.shortFraction < 1)) {
      throw new Error(`shortFraction must be in [0, 1), got ${s.shortFraction}`);
    }
    if (![1, 2, 5, 10, 15, 30, 60].includes(s.checkIntervalMinutes)) {
      throw new Error(`checkIntervalMinutes must be 1, 2, 5, 10, 15, 30 or 60, got ${s.checkIntervalMinutes}`);
    }
    if (!['guarded', 'seed', 'tailored'].includes(s.method)) {
      throw new Error(`method must be guarded, seed or tailored, got ${s.method}`);
    }
    if (s.k !== undefined && !(Number.isFinite(s.k) && s.k > 0)) {
      throw new Error(`k must be a number > 0, got ${s.k}`);
    }
    if (!(s.criticalFactor > 1 && s.criticalFactor <= 100)) {
      throw new Error(`criticalFactor must be greater than 1 and at most 100, got ${s.criticalFactor}`);
    }
    if (!(Number.isInteger(s.retentionDays) && s.retentionDays >= s.windowDays + 7 && s.retentionDays <= 3650)) {
      throw new Error(`retentionDays must be the window plus a week (${s.windowDays + 7}) to 3650, got ${s.retentionDays}`);
    }
    if (!(s.fallbackLimitSeconds >= 0 && s.fallbackLimitSeconds <= 31622400)) {
      throw new Error(`fallbackLimitSeconds must be 0 (none) to a year (31622400), got ${s.fallbackLimitSeconds}`);
    }
    if (s.exclusionCap !== undefined && !(s.exclusionCap > 0 && s.exclusionCap <= 1)) {
      throw new Error(`exclusionCap must be in (0, 1], got ${s.exclusionCap}`);
    }
    if (s.recentRuns !== undefined && !(Number.isInteger(s.recentRuns) && s.recentRuns >= 0 && s.recentRuns <= 1000)) {
      throw new Error(`recentRuns must be 0 to 1000, got ${s.recentRuns}`);
    }
    if (!(s.recentWeight > 0 && s.recentWeight < 1)) {
      throw new Error(`recentWeight must be in (0, 1), got ${s.recentWeight}`);
    }
    if (s.recentRuns !== undefined && s.recentRuns > 0 && s.method !== 'tailored') {
      throw new Error(`recentRuns works with the tailored method, not ${s.method}`);
    }

    // ------------------------------------------------------------ storage
    const tableDefaults = {
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'expires_at',
      removalPolicy: RemovalPolicy.RETAIN,
    };
    this.runsTable = new dynamodb.Table(this, 'RunsTable', {
      ...tableDefaults,
      partitionKey: { name: 'task_type', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'run_id', type: dynamodb.AttributeType.STRING },
    });
    // Sparse indexes (docs/DATA-MODEL.md): an item is in one only while it has the key attribute.
    const index = (indexName: string, partition: string, sort: string | undefined, nonKeyAttributes: string[]) =>
      this.runsTable.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: partition, type: dynamodb.AttributeType.STRING },
        ...(sort ? { sortKey: { name: sort, type: dynamodb.AttributeType.NUMBER } } : {}),
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes,
      });
    index('running', 'running', 'start_ms', ['alert_warning', 'alert_critical']);
    index('by-end-day', 'end_day', 'end_ms', ['start_ms']);
    index('resolve', 'resolve', undefined, ['start_ms', 'end_ms', 'status']);
    index('recent', 'task_type', 'succeeded_end_ms', ['start_ms']);
    // A type's succeeded runs of one season (weekday or weekend, by their start).
    index('recent-season', 'season_task', 'succeeded_end_ms', ['start_ms']);
    this.statsTable = new dynamodb.Table(this, 'StatsTable', {
      ...tableDefaults,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    });

    // ------------------------------------------------------------ alerts
    const key = new kms.Key(this, 'AlertKey', {
      description: "Encrypts Overrun's alert topic.",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'AlertTopic', { displayName: 'Overrun', masterKey: key });
    if (s.alertEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(s.alertEmail));
    }
    if (s.alertPhoneNumber) {
      this.topic.addSubscription(
        new subscriptions.SmsSubscription(s.alertPhoneNumber, {
          filterPolicy: { severity: sns.SubscriptionFilter.stringFilter({ allowlist: ['critical'] }) },
        }),
      );
    }

    // ------------------------------------------------------------ failures
    const failed = new sqs.Queue(this, 'FailedEventsQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    // ------------------------------------------------------------ functions
    const environment: Record<string, string> = {
      OVERRUN_RUNS_TABLE: this.runsTable.tableName,
      OVERRUN_STATS_TABLE: this.statsTable.tableName,
      OVERRUN_METHOD: s.method,
      ...(s.k !== undefined ? { OVERRUN_K: String(s.k) } : {}),
      OVERRUN_WINDOW_DAYS: String(s.windowDays),
      OVERRUN_MIN_SAMPLES: String(s.minSamples),
      OVERRUN_NIGHTLY_HOUR: String(s.nightlyHour),
      OVERRUN_CRITICAL_FACTOR: String(s.criticalFactor),
      OVERRUN_RETENTION_DAYS: String(s.retentionDays),
      OVERRUN_SHORT_FRACTION: String(s.shortFraction),
      OVERRUN_CLOCK_SKEW_S: String(s.clockSkewSeconds),
      OVERRUN_CHECK_INTERVAL_MINUTES: String(s.checkIntervalMinutes),
      ...(s.recentRuns !== undefined ? { OVERRUN_RECENT_RUNS: String(s.recentRuns) } : {}),
      OVERRUN_RECENT_WEIGHT: String(s.recentWeight),
      OVERRUN_QUALIFY: s.qualifyTaskTypes,
      OVERRUN_SEASONS: s.seasons ? 'on' : 'off',
      OVERRUN_SEASON_ZONE: s.seasonZone,
      // Runs told of by any other account or region keep where they ran in their key.
      OVERRUN_HOME_ACCOUNT: this.account,
      OVERRUN_FALLBACK_LIMIT_S: String(s.fallbackLimitSeconds),
      ...(s.exclusionCap !== undefined ? { OVERRUN_EXCLUSION_CAP: String(s.exclusionCap) } : {}),
    };

    const makeFunction = (
      name: 'ingest' | 'http-ingest' | 'baseline' | 'checker' | 'forwarder',
      description: string,
      statements: iam.PolicyStatement[],
      // Retries and the failure queue are for asynchronous invocations; a function URL's caller
      // gets the answer (and retries) itself.
      options: {
        timeout: Duration;
        memorySize: number;
        retries?: number;
        extraEnv?: Record<string, string>;
        reservedConcurrency?: number;
      },
    ): lambda.Function => {
      const logGroup = new logs.LogGroup(this, `${name}Logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const role = new iam.Role(this, `${name}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `Overrun ${name} function: only what it needs`,
      });
      for (const statement of statements) {
        role.addToPolicy(statement);
      }
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'Logs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
      );
      return new lambda.Function(this, `${name}Function`, {
        description,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: lambda.Architecture.ARM_64,
        handler: 'bootstrap',
        code: lambda.Code.fromAsset(path.join(props.assetsDir, name), { exclude: ['*.zip'] }),
        role,
        logGroup,
        loggingFormat: lambda.LoggingFormat.JSON,
        timeout: options.timeout,
        memorySize: options.memorySize,
        environment: { ...environment, ...options.extraEnv },
        ...(options.reservedConcurrency !== undefined
          ? { reservedConcurrentExecutions: options.reservedConcurrency }
          : {}),
        ...(options.retries !== undefined
          ? { retryAttempts: options.retries, onFailure: new destinations.SqsDestination(failed) }
          : {}),
      });
    };

    // What recording a run takes, for both ingest functions.
    const recordRuns = (): iam.PolicyStatement[] => [
      new iam.PolicyStatement({
        sid: 'RecordRuns',
        actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
        resources: [this.runsTable.tableArn],
      }),
      // Only the stats items ingest owns: day counts and too-short notices (DAY#…), cohort
      // members (COHORT#…) and the starts the schedule learner reads (STARTS#…); never limits,
      // overrides or schedules (LIMITS, SCHEDULES).
      new iam.PolicyStatement({
        sid: 'CountDaysCohortsAndNotices',
        actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
        resources: [this.statsTable.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DAY#*', 'COHORT#*', 'STARTS#*'] } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadLimitsForTooShortNotices',
        actions: ['dynamodb:BatchGetItem'],
        resources: [this.statsTable.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'PublishTooShortNotices',
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
      }),
      new iam.PolicyStatement({
        sid: 'EncryptForTheTopic',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [key.keyArn],
      }),
    ];
    const ingest = makeFunction(
      'ingest',
      'Records task start and finish events as runs.',
      [
        ...recordRuns(),
        new iam.PolicyStatement({
          sid: 'LookUpTheRecentRunsOfAStart',
          actions: ['dynamodb:Query'],
          resources: [`${this.runsTable.tableArn}/index/recent`, `${this.runsTable.tableArn}/index/recent-season`],
        }),
      ],
      {
        timeout: Duration.seconds(60),
        memorySize: 128,
        retries: 2,
        extraEnv: { OVERRUN_TOPIC_ARN: this.topic.topicArn },
      },
    );
    let httpIngestFunction: lambda.Function | undefined;
    if (s.httpsIngest) {
      // One secret holds every source's credential: the key "github" the webhook secret, every
      // other key a source's bearer token. Created with one generated token ("default").
      const sources = new secretsmanager.Secret(this, 'SourcesSecret', {
        description: 'Overrun HTTPS ingest: {"github": webhook secret, "<source>": bearer token, ...}',
        generateSecretString: {
          secretStringTemplate: '{}',
          generateStringKey: 'default',
          passwordLength: 40,
          excludePunctuation: true,
        },
      });
      const httpIngest = (httpIngestFunction = makeFunction(
        'http-ingest',
        'HTTPS ingest: OpenLineage run events, GitHub workflow_job webhooks and check-ins.',
        [
          ...recordRuns(),
          new iam.PolicyStatement({
            sid: 'ReadTheSourcesSecret',
            actions: ['secretsmanager:GetSecretValue'],
            resources: [sources.secretArn],
          }),
          // The recent runs of a start, and a check-in's open run.
          new iam.PolicyStatement({
            sid: 'LookUpRecentAndOpenRuns',
            actions: ['dynamodb:Query'],
            resources: [
              `${this.runsTable.tableArn}/index/recent`,
              `${this.runsTable.tableArn}/index/recent-season`,
              `${this.runsTable.tableArn}/index/running`,
            ],
          }),
        ],
        {
          timeout: Duration.seconds(30),
          memorySize: 128,
          extraEnv: { OVERRUN_TOPIC_ARN: this.topic.topicArn, OVERRUN_SOURCES_SECRET: sources.secretArn },
          reservedConcurrency: s.httpsIngestReservedConcurrency,
        },
      ));
      // Anyone may reach the URL; the function admits only requests signed or carrying a
      // source's token, and refuses the rest with 401 before anything is written.
      const url = httpIngest.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
      new CfnOutput(this, 'HttpsIngestUrl', { value: url.url });
      new CfnOutput(this, 'SourcesSecretArn', { value: sources.secretArn });
    }
    const destinationSecrets = [s.pagerDutySecretArn, s.slackWebhookSecretArn].filter(
      (arn): arn is string => arn !== undefined && arn !== '',
    );
    for (const arn of destinationSecrets) {
      if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$/.test(arn)) {
        throw new Error(`a destination secret must be a Secrets Manager secret ARN, got ${arn}`);
      }
    }
    if (destinationSecrets.length > 0) {
      const forwarder = makeFunction(
        'forwarder',
        "Forwards Overrun's alerts to PagerDuty and Slack.",
        [
          new iam.PolicyStatement({
            sid: 'ReadTheDestinationsSecrets',
            actions: ['secretsmanager:GetSecretValue'],
            resources: destinationSecrets,
          }),
        ],
        {
          timeout: Duration.seconds(60),
          memorySize: 128,
          retries: 2,
          extraEnv: {
            OVERRUN_PAGERDUTY_SECRET: s.pagerDutySecretArn ?? '',
            OVERRUN_SLACK_SECRET: s.slackWebhookSecretArn ?? '',
          },
        },
      );
      this.topic.addSubscription(new subscriptions.LambdaSubscription(forwarder));
    }
    const baseline = makeFunction(
      'baseline',
      'Nightly roll-up of finished runs and baseline recomputation.',
      [
        new iam.PolicyStatement({
          sid: 'ReadFinishedRunsOfADay',
          actions: ['dynamodb:Query'],
          resources: [`${this.runsTable.tableArn}/index/by-end-day`],
        }),
        new iam.PolicyStatement({
          sid: 'ReadAndWriteAggregatesBaselinesAndSchedules',
          actions: [
            'dynamodb:BatchGetItem',
            'dynamodb:Query',
            'dynamodb:BatchWriteItem',
            'dynamodb:UpdateItem',
            'dynamodb:PutItem',
            'dynamodb:DeleteItem',
          ],
          resources: [this.statsTable.tableArn],
        }),
      ],
      { timeout: Duration.minutes(15), memorySize: 256, retries: 2 },
    );
    const checker = makeFunction(
      'checker',
      'Every 10 minutes, alerts on running tasks past their limit.',
      [
        new iam.PolicyStatement({
          sid: 'ListRunningAndResolvedRuns',
          actions: ['dynamodb:Query'],
          resources: [`${this.runsTable.tableArn}/index/running`, `${this.runsTable.tableArn}/index/resolve`],
        }),
        new iam.PolicyStatement({
          sid: 'ClaimAlerts',
          actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
          resources: [this.runsTable.tableArn],
        }),
        // Undelivered too-short notices (DAY#…/SHORT#…): listed, taken over, marked; missed-start
        // incidents (MISSED/…): listed, claimed, marked.
        new iam.PolicyStatement({
          sid: 'ResendTooShortNoticesAndPageMissedStarts',
          actions: ['dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:GetItem'],
          resources: [this.statsTable.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DAY#*', 'MISSED'] } },
        }),
        // The schedules the nightly job learned and those operators declared, read only.
        new iam.PolicyStatement({
          sid: 'ReadSchedules',
          actions: ['dynamodb:Query'],
          resources: [this.statsTable.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SCHEDULES', 'DECLARED'] } },
        }),
        new iam.PolicyStatement({
          sid: 'ReadLimitsAndCohortMembers',
          actions: ['dynamodb:BatchGetItem'],
          resources: [this.statsTable.tableArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReadCohortsOfRunningRuns',
          actions: ['dynamodb:BatchGetItem'],
          resources: [this.runsTable.tableArn],
        }),
        new iam.PolicyStatement({ sid: 'PublishAlerts', actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
        new iam.PolicyStatement({
          sid: 'EncryptForTheTopic',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [key.keyArn],
        }),
      ],
      // A failed tick is retried about one and three minutes later; claims keep the retries from
      // sending anything twice.
      {
        timeout: Duration.minutes(5),
        memorySize: 128,
        retries: 2,
        extraEnv: {
          OVERRUN_TOPIC_ARN: this.topic.topicArn,
          // Checked at start against OVERRUN_CHECK_INTERVAL_MINUTES.
          OVERRUN_CHECK_SCHEDULE:
            s.checkIntervalMinutes === 1 ? 'rate(1 minute)' : `rate(${s.checkIntervalMinutes} minutes)`,
        },
      },
    );

    // ------------------------------------------------------------ triggers
    const taskEventPattern = {
      $or: [
        { source: [s.taskEventSource], 'detail-type': ['Task State Change'] },
        { source: ['aws.states'], 'detail-type': ['Step Functions Execution Status Change'] },
        { source: ['aws.batch'], 'detail-type': ['Batch Job State Change'] },
        { source: ['aws.glue'], 'detail-type': ['Glue Job State Change', 'Glue Job Run Status'] },
        { source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'] },
        { source: ['aws.codebuild'], 'detail-type': ['CodeBuild Build State Change'] },
        { source: ['aws.sagemaker'], 'detail-type': ['SageMaker Training Job State Change'] },
      ],
    };
    const toIngest = [
      {
        id: 'ingest',
        arn: ingest.functionArn,
        retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 3600 },
        deadLetterConfig: { arn: failed.queueArn },
      },
    ];
    const taskEvents = new events.CfnRule(this, 'TaskEventsRule', {
      description: "Task state changes for Overrun's ingest function.",
      eventPattern: taskEventPattern,
      targets: toIngest,
    });
    ingest.addPermission('TaskEvents', {
      principal: new iam.ServicePrincipal('events.amazonaws.com'),
      sourceArn: taskEvents.attrArn,
    });
    const taskRules = [taskEvents.attrArn];
    // The central bus: other accounts' task events, forwarded by their rule (infra/member.yaml).
    // Only the named organization's or accounts' principals may put events on it, and only events.
    let centralBus: events.CfnEventBus | undefined;
    if (s.centralBusName) {
      const bus = new events.CfnEventBus(this, 'CentralEventBus', { name: s.centralBusName });
      centralBus = bus;
      if (s.centralBusOrganizationId) {
        new events.CfnEventBusPolicy(this, 'CentralBusOrganizationPolicy', {
          eventBusName: bus.ref,
          statementId: 'OverrunMemberOrganization',
          statement: {
            Effect: 'Allow',
            Principal: '*',
            Action: 'events:PutEvents',
            Resource: bus.attrArn,
            Condition: { StringEquals: { 'aws:PrincipalOrgID': s.centralBusOrganizationId } },
          },
        });
      }
      if (s.centralBusAccounts && s.centralBusAccounts.length > 0) {
        for (const account of s.centralBusAccounts) {
          if (!/^[0-9]{12}$/.test(account)) {
            throw new Error(`centralBusAccounts: ${JSON.stringify(account)} is not a 12-digit account ID`);
          }
        }
        new events.CfnEventBusPolicy(this, 'CentralBusAccountsPolicy', {
          eventBusName: bus.ref,
          statementId: 'OverrunMemberAccounts',
          statement: {
            Effect: 'Allow',
            Principal: { AWS: s.centralBusAccounts },
            Action: 'events:PutEvents',
            Resource: bus.attrArn,
          },
        });
      }
      const central = new events.CfnRule(this, 'CentralTaskEventsRule', {
        description: "Task state changes forwarded from member accounts, for Overrun's ingest function.",
        eventBusName: bus.ref,
        eventPattern: taskEventPattern,
        targets: toIngest,
      });
      ingest.addPermission('CentralTaskEvents', {
        principal: new iam.ServicePrincipal('events.amazonaws.com'),
        sourceArn: central.attrArn,
      });
      taskRules.push(central.attrArn);
    }
    failed.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgeDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [failed.queueArn],
        conditions: { ArnEquals: { 'aws:SourceArn': taskRules.length === 1 ? taskRules[0] : taskRules } },
      }),
    );

    const schedule = (id: string, expression: events.Schedule, fn: lambda.Function, retries: number, maxAge: Duration) =>
      new events.Rule(this, id, {
        schedule: expression,
        targets: [new targets.LambdaFunction(fn, { retryAttempts: retries, maxEventAge: maxAge, deadLetterQueue: failed })],
      });
    schedule('NightlyRule', events.Schedule.expression(`cron(0 ${s.nightlyHour} * * ? *)`), baseline, 10, Duration.hours(1));
    schedule('CheckerRule', events.Schedule.rate(Duration.minutes(s.checkIntervalMinutes)), checker, 2, Duration.minutes(5));

    // ------------------------------------------------------------ alarms
    const alarm = new cwActions.SnsAction(this.topic);
    // An alarm that pages: when it fires, and with `onMissingData` also when its metric stops.
    const page = (id: string, props: cloudwatch.AlarmProps, onMissingData = false) => {
      const a = new cloudwatch.Alarm(this, id, props);
      a.addAlarmAction(alarm);
      if (onMissingData) a.addInsufficientDataAction(alarm);
    };
    const errors = (id: string, fn: lambda.Function, period: Duration, periods: number, description: string) =>
      page(id, {
        alarmDescription: description,
        metric: fn.metricErrors({ period, statistic: 'Sum' }),
        threshold: 0,
        evaluationPeriods: periods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    errors('IngestErrorsAlarm', ingest, Duration.minutes(5), 1, "Overrun's ingest function is failing.");
    if (httpIngestFunction && s.httpsIngestReservedConcurrency !== undefined) {
      page('HttpIngestThrottlesAlarm', {
        alarmDescription:
          "Overrun's HTTPS ingest endpoint is throttled at its concurrency cap; throttled senders got 429 (GitHub does not redeliver: `overrun import github` fills the gap).",
        metric: httpIngestFunction.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 0,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    errors('BaselineErrorsAlarm', baseline, Duration.hours(1), 1, "Overrun's nightly baseline function failed.");
    errors('CheckerErrorsAlarm', checker, Duration.minutes(s.checkIntervalMinutes), 2, "Overrun's checker failed twice in a row.");
    // Errors alarms stay quiet when a function is not invoked at all (a disabled rule, a broken
    // permission). Lambda publishes no Invocations datapoint for a period without invocations,
    // so "not running" is missing data: INSUFFICIENT_DATA pages, and a new alarm waits in that
    // state, without paging, until its function first runs.
    const notRunning = (id: string, fn: lambda.Function, period: Duration, periods: number, description: string) =>
      page(
        id,
        {
          alarmDescription: description,
          metric: fn.metricInvocations({ period, statistic: 'Sum' }),
          threshold: 1,
          evaluationPeriods: periods,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.MISSING,
        },
        true,
      );
    notRunning(
      'CheckerNotRunningAlarm',
      checker,
      Duration.minutes(s.checkIntervalMinutes),
      3,
      "Overrun's checker has not run for three check intervals; no alerts are being sent.",
    );
    notRunning(
      'BaselineNotRunningAlarm',
      baseline,
      Duration.days(1),
      2,
      "Overrun's nightly baseline function has not run for two days; limits are going stale.",
    );
    page('FailedEventsAlarm', {
      alarmDescription: 'Events Overrun could not process are waiting in the failure queue.',
      metric: failed.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    new CfnOutput(this, 'AlertTopicArn', { value: this.topic.topicArn, description: 'Subscribe more emails or phones here.' });
    new CfnOutput(this, 'RunsTableName', { value: this.runsTable.tableName });
    new CfnOutput(this, 'StatsTableName', { value: this.statsTable.tableName });
    new CfnOutput(this, 'TaskEventsRuleName', { value: taskEvents.ref });
    if (centralBus) {
      new CfnOutput(this, 'CentralBusArn', { value: centralBus.attrArn });
    }
    new CfnOutput(this, 'FailedEventsQueueUrl', { value: failed.queueUrl });
  }
}
