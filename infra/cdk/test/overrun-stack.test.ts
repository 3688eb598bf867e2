// Assertions on the synthesized stack: resources, schedules, encryption, least privilege.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { OverrunStack, OverrunSettings } from '../lib/overrun-stack';

/** Placeholder binaries: these tests check the template, not the code. */
function fakeAssets(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'overrun-assets-'));
  for (const name of ['ingest', 'http-ingest', 'baseline', 'checker', 'forwarder']) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'bootstrap'), '#!/bin/sh\n');
  }
  return dir;
}

function synth(settings: Partial<OverrunSettings> = {}): Template {
  const app = new App();
  return Template.fromStack(new OverrunStack(app, 'Test', { assetsDir: fakeAssets(), settings }));
}

const template = synth();

test('both tables are on demand, encrypted, point-in-time recoverable and expire by TTL', () => {
  template.resourceCountIs('AWS::DynamoDB::Table', 2);
  template.allResourcesProperties('AWS::DynamoDB::Table', {
    BillingMode: 'PAY_PER_REQUEST',
    SSESpecification: { SSEEnabled: true },
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
  });
});

test('the runs table has the five sparse indexes the functions query', () => {
  template.hasResourceProperties('AWS::DynamoDB::Table', {
    KeySchema: [
      { AttributeName: 'task_type', KeyType: 'HASH' },
      { AttributeName: 'run_id', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: Match.arrayWith([
      Match.objectLike({ IndexName: 'running' }),
      Match.objectLike({ IndexName: 'by-end-day' }),
      Match.objectLike({ IndexName: 'resolve' }),
      Match.objectLike({
        IndexName: 'recent',
        KeySchema: [
          { AttributeName: 'task_type', KeyType: 'HASH' },
          { AttributeName: 'succeeded_end_ms', KeyType: 'RANGE' },
        ],
      }),
      Match.objectLike({
        IndexName: 'recent-season',
        KeySchema: [
          { AttributeName: 'season_task', KeyType: 'HASH' },
          { AttributeName: 'succeeded_end_ms', KeyType: 'RANGE' },
        ],
      }),
    ]),
  });
});

test('the alert topic is encrypted with a rotating KMS key', () => {
  template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
});

test('four arm64 provided.al2023 functions log JSON and get the configuration', () => {
  template.resourceCountIs('AWS::Lambda::Function', 4);
  template.allResourcesProperties('AWS::Lambda::Function', {
    Runtime: 'provided.al2023',
    Architectures: ['arm64'],
    Handler: 'bootstrap',
    LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
    Environment: {
      Variables: Match.objectLike({ OVERRUN_METHOD: 'tailored', OVERRUN_WINDOW_DAYS: '14', OVERRUN_MIN_SAMPLES: '5' }),
    },
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ OVERRUN_TOPIC_ARN: Match.anyValue() }) },
  });
});

test('the nightly and 10-minute schedules trigger the baseline and checker functions', () => {
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 0 * * ? *)' });
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
  const custom = synth({ nightlyHour: 3, taskEventSource: 'acme.workflows' });
  custom.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 3 * * ? *)' });
  custom.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: { $or: Match.arrayWith([{ source: ['acme.workflows'], 'detail-type': ['Task State Change'] }]) },
  });
});

test('task events from the custom source and the AWS job services reach ingest', () => {
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: {
      $or: [
        { source: ['overrun.tasks'], 'detail-type': ['Task State Change'] },
        { source: ['aws.states'], 'detail-type': ['Step Functions Execution Status Change'] },
        { source: ['aws.batch'], 'detail-type': ['Batch Job State Change'] },
        { source: ['aws.glue'], 'detail-type': ['Glue Job State Change', 'Glue Job Run Status'] },
        { source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'] },
        { source: ['aws.codebuild'], 'detail-type': ['CodeBuild Build State Change'] },
        { source: ['aws.sagemaker'], 'detail-type': ['SageMaker Training Job State Change'] },
      ],
    },
  });
});

test('failed invocations go to an encrypted queue after bounded retries, and alarms watch it', () => {
  template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 3);
  template.allResourcesProperties('AWS::Lambda::EventInvokeConfig', {
    MaximumRetryAttempts: Match.anyValue(),
    DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
  });
  template.resourceCountIs('AWS::CloudWatch::Alarm', 6);
  template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [Match.anyValue()] });
});

test('alarms page when the checker or the nightly job stops being invoked, not only when they fail', () => {
  for (const [description, period, periods] of [
    ["Overrun's checker has not run for three check intervals; no alerts are being sent.", 600, 3],
    ["Overrun's nightly baseline function has not run for two days; limits are going stale.", 86400, 2],
  ] as const) {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: description,
      MetricName: 'Invocations',
      Period: period,
      EvaluationPeriods: periods,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      // No invocation means no datapoint: missing data is the signal, and it pages.
      TreatMissingData: 'missing',
      InsufficientDataActions: [Match.anyValue()],
    });
  }
  const everyMinute = synth({ checkIntervalMinutes: 1 });
  everyMinute.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmDescription: "Overrun's checker has not run for three check intervals; no alerts are being sent.",
    Period: 60,
  });
});

test('email and SMS subscriptions appear only when asked for; SMS takes critical alerts only', () => {
  template.resourceCountIs('AWS::SNS::Subscription', 0);
  const subscribed = synth({ alertEmail: 'ops@example.com', alertPhoneNumber: '+15551234567' });
  subscribed.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  subscribed.hasResourceProperties('AWS::SNS::Subscription', {
    Protocol: 'sms',
    FilterPolicy: { severity: ['critical'] },
  });
});

test('function roles grant no wildcard action or resource and no managed policies', () => {
  const roles = template.findResources('AWS::IAM::Role');
  const policies = template.findResources('AWS::IAM::Policy');
  assert.ok(Object.keys(policies).length >= 3);
  for (const [id, role] of Object.entries(roles)) {
    assert.equal(role.Properties.ManagedPolicyArns, undefined, `${id} has managed policies`);
  }
  const strings = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value]
      : Array.isArray(value)
        ? value.flatMap(strings)
        : value && typeof value === 'object'
          ? Object.values(value).flatMap(strings)
          : [];
  for (const [id, policy] of Object.entries(policies)) {
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      for (const action of strings(statement.Action)) {
        assert.ok(!action.includes('*'), `${id} grants wildcard action ${action}`);
      }
      for (const resource of strings(statement.Resource)) {
        assert.ok(!resource.includes('*'), `${id} grants wildcard resource ${resource}`);
      }
    }
  }
});

test('ingest may read limits and publish too-short notices to the topic, and gets its fraction', () => {
  template.hasResourceProperties('AWS::Lambda::Function', {
    Description: 'Records task start and finish events as runs.',
    Environment: {
      Variables: Match.objectLike({ OVERRUN_TOPIC_ARN: Match.anyValue(), OVERRUN_SHORT_FRACTION: '0.25' }),
    },
  });
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Sid: 'ReadLimitsForTooShortNotices', Action: 'dynamodb:BatchGetItem' }),
        Match.objectLike({ Sid: 'PublishTooShortNotices', Action: 'sns:Publish' }),
      ]),
    },
  });
});

test('the checker may read its running runs\' cohorts and the cohorts\' finished members', () => {
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Sid: 'ReadLimitsAndCohortMembers', Action: 'dynamodb:BatchGetItem' }),
        Match.objectLike({ Sid: 'ReadCohortsOfRunningRuns', Action: 'dynamodb:BatchGetItem' }),
      ]),
    },
  });
});

test('k and the exclusion cap are left to the method unless asked for, and bad values are refused', () => {
  const functions = template.findResources('AWS::Lambda::Function');
  for (const fn of Object.values(functions)) {
    assert.equal(fn.Properties.Environment.Variables.OVERRUN_EXCLUSION_CAP, undefined);
    assert.equal(fn.Properties.Environment.Variables.OVERRUN_K, undefined);
  }
  const asked = synth({ method: 'seed', exclusionCap: 0.2, k: 3 });
  asked.allResourcesProperties('AWS::Lambda::Function', {
    Environment: {
      Variables: Match.objectLike({ OVERRUN_METHOD: 'seed', OVERRUN_EXCLUSION_CAP: '0.2', OVERRUN_K: '3' }),
    },
  });
  assert.throws(() => synth({ exclusionCap: 0 }), /exclusionCap must be in \(0, 1\]/);
  assert.throws(() => synth({ method: 'lognormal' }), /method must be guarded, seed or tailored/);
  assert.throws(() => synth({ k: -1 }), /k must be a number > 0/);
  assert.throws(() => synth({ k: 0 }), /k must be a number > 0/);
  assert.throws(() => synth({ clockSkewSeconds: 86400 }), /clockSkewSeconds must be 0 to 3600/);
  assert.throws(() => synth({ criticalFactor: 1 }), /criticalFactor must be greater than 1 and at most 100/);
  assert.throws(() => synth({ criticalFactor: 1e308 }), /criticalFactor must be greater than 1 and at most 100/);
  assert.throws(() => synth({ retentionDays: 4294967295 }), /retentionDays must be the window plus a week \(21\) to 3650/);
  assert.throws(() => synth({ fallbackLimitSeconds: 1e300 }), /fallbackLimitSeconds must be 0 \(none\) to a year/);
});

test('recent runs are left to the method unless asked for, reach every function, and ingest may look them up', () => {
  for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
    assert.equal(fn.Properties.Environment.Variables.OVERRUN_RECENT_RUNS, undefined);
    assert.equal(fn.Properties.Environment.Variables.OVERRUN_RECENT_WEIGHT, '0.3');
  }
  template.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([Match.objectLike({ Sid: 'LookUpTheRecentRunsOfAStart', Action: 'dynamodb:Query' })]),
    },
  });
  const asked = synth({ recentRuns: 3, recentWeight: 0.45 });
  asked.allResourcesProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ OVERRUN_RECENT_RUNS: '3', OVERRUN_RECENT_WEIGHT: '0.45' }) },
  });
  assert.throws(() => synth({ recentRuns: 3, method: 'seed' }), /recentRuns works with the tailored method, not seed/);
  synth({ recentRuns: 0, method: 'seed' });
  assert.throws(() => synth({ recentRuns: 1001 }), /recentRuns must be 0 to 1000/);
  assert.throws(() => synth({ recentWeight: 1 }), /recentWeight must be in \(0, 1\)/);
});

test('the check interval sets the checker schedule and its alarm period', () => {
  const everyMinute = synth({ checkIntervalMinutes: 1, method: 'tailored' });
  everyMinute.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  // The tailored method weighs how long a run must be past its limit to be seen.
  everyMinute.allResourcesProperties('AWS::Lambda::Function', {
    Environment: {
      Variables: Match.objectLike({ OVERRUN_METHOD: 'tailored', OVERRUN_CHECK_INTERVAL_MINUTES: '1' }),
    },
  });
  everyMinute.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmDescription: "Overrun's checker failed twice in a row.",
    Period: 60,
    EvaluationPeriods: 2,
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmDescription: "Overrun's checker failed twice in a row.",
    Period: 600,
  });
  assert.throws(() => synth({ checkIntervalMinutes: 7 }), /checkIntervalMinutes must be 1, 2, 5, 10, 15, 30 or 60/);
});

test('an out-of-range nightly hour is refused', () => {
  assert.throws(() => synth({ nightlyHour: 24 }), /nightlyHour must be 0 to 23/);
});

test('ingest and the checker write only the stats items they own (day, cohort, start and missed-start items), never limits', () => {
  for (const keys of [['DAY#*', 'COHORT#*', 'STARTS#*'], ['DAY#*', 'MISSED']]) {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['dynamodb:UpdateItem']),
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': keys } },
          }),
        ]),
      },
    });
  }
});

test('the checker is retried twice after a failed tick and knows its schedule', () => {
  for (const [minutes, rate] of [[10, 'rate(10 minutes)'], [1, 'rate(1 minute)']] as const) {
    const stack = minutes === 10 ? template : synth({ checkIntervalMinutes: minutes });
    stack.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ OVERRUN_CHECK_SCHEDULE: rate, OVERRUN_CHECK_INTERVAL_MINUTES: String(minutes) }) },
    });
  }
  template.allResourcesProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
});

test('the HTTPS ingest endpoint is a public function URL whose role reads only the sources secret', () => {
  template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
  template.resourceCountIs('AWS::SecretsManager::Secret', 1);
  template.hasResourceProperties('AWS::SecretsManager::Secret', {
    GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: 'default', PasswordLength: 40 },
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Description: 'HTTPS ingest: OpenLineage run events, GitHub workflow_job webhooks and check-ins.',
    Environment: { Variables: Match.objectLike({ OVERRUN_SOURCES_SECRET: Match.anyValue() }) },
  });
  const secretReaders = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    JSON.stringify(policy.Properties.PolicyDocument).includes('secretsmanager:'),
  );
  assert.equal(secretReaders.length, 1, 'only the HTTPS ingest role touches the secret');
  const statements = secretReaders[0].Properties.PolicyDocument.Statement;
  const secret = statements.find((statement: { Sid: string }) => statement.Sid === 'ReadTheSourcesSecret');
  assert.equal(secret.Action, 'secretsmanager:GetSecretValue');
  assert.deepEqual(Object.keys(secret.Resource), ['Ref']);
  template.hasOutput('HttpsIngestUrl', {});
});

test('httpsIngest: false leaves out the endpoint, its secret and its role', () => {
  const without = synth({ httpsIngest: false });
  without.resourceCountIs('AWS::Lambda::Function', 3);
  without.resourceCountIs('AWS::Lambda::Url', 0);
  without.resourceCountIs('AWS::SecretsManager::Secret', 0);
});

test('the HTTPS endpoint is uncapped by default; a reserved concurrency caps it and pages when it throttles', () => {
  const throttles = { MetricName: 'Throttles', Namespace: 'AWS/Lambda' };
  template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', throttles, 0);
  const httpIngest = { Description: 'HTTPS ingest: OpenLineage run events, GitHub workflow_job webhooks and check-ins.' };
  template.hasResourceProperties('AWS::Lambda::Function', { ...httpIngest, ReservedConcurrentExecutions: Match.absent() });
  const capped = synth({ httpsIngestReservedConcurrency: 10 });
  capped.hasResourceProperties('AWS::Lambda::Function', { ...httpIngest, ReservedConcurrentExecutions: 10 });
  capped.hasResourceProperties('AWS::CloudWatch::Alarm', { ...throttles, Threshold: 0, AlarmActions: Match.anyValue() });
  assert.throws(() => synth({ httpsIngestReservedConcurrency: 0 }), /httpsIngestReservedConcurrency must be 1 to 9999/);
});

test('a PagerDuty or Slack secret adds the forwarder, subscribed to the topic and reading only those secrets', () => {
  template.resourceCountIs('AWS::SNS::Subscription', 0);
  const pagerDuty = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:overrun/pagerduty-AbCdEf';
  const slack = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:overrun/slack-GhIjKl';
  const forwarding = synth({ pagerDutySecretArn: pagerDuty, slackWebhookSecretArn: slack });
  forwarding.resourceCountIs('AWS::Lambda::Function', 5);
  forwarding.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda' });
  forwarding.hasResourceProperties('AWS::Lambda::Function', {
    Description: "Forwards Overrun's alerts to PagerDuty and Slack.",
    Environment: { Variables: Match.objectLike({ OVERRUN_PAGERDUTY_SECRET: pagerDuty, OVERRUN_SLACK_SECRET: slack }) },
  });
  forwarding.hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({ Sid: 'ReadTheDestinationsSecrets', Action: 'secretsmanager:GetSecretValue', Resource: [pagerDuty, slack] }),
      ]),
    },
  });
  forwarding.resourceCountIs('AWS::Lambda::EventInvokeConfig', 4);
  assert.throws(() => synth({ slackWebhookSecretArn: 'https://hooks.slack.com/services/T/B/X' }), /must be a Secrets Manager secret ARN/);
});

test('a central bus takes member accounts\' task events to ingest, open to one organization or named accounts only', () => {
  template.resourceCountIs('AWS::Events::EventBus', 0);
  const central = synth({ centralBusName: 'overrun-tasks', centralBusOrganizationId: 'o-abcd1234ef' });
  central.hasResourceProperties('AWS::Events::EventBus', { Name: 'overrun-tasks' });
  central.hasResourceProperties('AWS::Events::EventBusPolicy', {
    Statement: {
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcd1234ef' } },
    },
  });
  const rules = central.findResources('AWS::Events::Rule', { Properties: { EventBusName: Match.anyValue() } });
  assert.equal(Object.keys(rules).length, 1, 'one rule on the central bus');
  const rule = Object.values(rules)[0] as { Properties: { EventPattern: unknown; Targets: { Id: string }[] } };
  assert.deepEqual(rule.Properties.EventPattern, template.findResources('AWS::Events::Rule', {
    Properties: { Description: "Task state changes for Overrun's ingest function." },
  })[Object.keys(template.findResources('AWS::Events::Rule', {
    Properties: { Description: "Task state changes for Overrun's ingest function." },
  }))[0]].Properties.EventPattern, 'the same events as the default bus');
  assert.equal(rule.Properties.Targets[0].Id, 'ingest');
  central.hasOutput('CentralBusArn', {});

  const accounts = synth({ centralBusName: 'overrun-tasks', centralBusAccounts: ['111122223333'] });
  accounts.hasResourceProperties('AWS::Events::EventBusPolicy', {
    Statement: { Principal: { AWS: ['111122223333'] }, Action: 'events:PutEvents' },
  });
  assert.throws(() => synth({ centralBusName: 'b', centralBusAccounts: ['*'] }), /not a 12-digit account ID/);
});

test('every function knows its home account, and task types are qualified only when asked', () => {
  const functions = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  }[];
  for (const f of functions) {
    assert.deepEqual(f.Properties.Environment.Variables.OVERRUN_HOME_ACCOUNT, { Ref: 'AWS::AccountId' });
    assert.equal(f.Properties.Environment.Variables.OVERRUN_QUALIFY, 'none');
  }
  assert.throws(() => synth({ qualifyTaskTypes: 'accounts' as 'account' }), /qualifyTaskTypes must be/);
  const qualified = synth({ qualifyTaskTypes: 'account' });
  qualified.hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ OVERRUN_QUALIFY: 'account' }) },
  });
});

test('seasons are on by default, in UTC, and a zone that is no IANA name is refused', () => {
  const functions = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { Environment: { Variables: Record<string, unknown> } };
  }[];
  for (const f of functions) {
    assert.equal(f.Properties.Environment.Variables.OVERRUN_SEASONS, 'on');
    assert.equal(f.Properties.Environment.Variables.OVERRUN_SEASON_ZONE, 'UTC');
  }
  assert.throws(() => synth({ seasonZone: 'Berlin time' }), /seasonZone must be an IANA time zone/);
  synth({ seasons: false, seasonZone: 'Europe/Berlin' }).hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ OVERRUN_SEASONS: 'off', OVERRUN_SEASON_ZONE: 'Europe/Berlin' }) },
  });
});
