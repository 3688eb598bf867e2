#!/usr/bin/env node
// The Overrun CDK app. Function code comes prebuilt from `cargo lambda build --release --arm64`
// (target/lambda/<function>/bootstrap); settings come from context (`cdk deploy -c alertEmail=…`).
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { OverrunStack, OverrunSettings } from '../lib/overrun-stack';

const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key);
const number = (key: string): number | undefined => {
  const value = context(key);
  return value === undefined ? undefined : Number(value);
};

const settings: Partial<OverrunSettings> = {
  taskEventSource: context('taskEventSource'),
  httpsIngest: context('httpsIngest') === undefined ? undefined : String(context('httpsIngest')) !== 'false',
  pagerDutySecretArn: context('pagerDutySecretArn'),
  slackWebhookSecretArn: context('slackWebhookSecretArn'),
  nightlyHour: number('nightlyHour'),
  alertEmail: context('alertEmail'),
  alertPhoneNumber: context('alertPhoneNumber'),
  method: context('method'),
  checkIntervalMinutes: number('checkIntervalMinutes'),
  k: number('k'),
  windowDays: number('windowDays'),
  minSamples: number('minSamples'),
  criticalFactor: number('criticalFactor'),
  fallbackLimitSeconds: number('fallbackLimitSeconds'),
  retentionDays: number('retentionDays'),
  shortFraction: number('shortFraction'),
  clockSkewSeconds: number('clockSkewSeconds'),
  httpsIngestReservedConcurrency: number('httpsIngestReservedConcurrency'),
  exclusionCap: number('exclusionCap'),
  recentRuns: number('recentRuns'),
  recentWeight: number('recentWeight'),
  centralBusName: context('centralBusName'),
  centralBusOrganizationId: context('centralBusOrganizationId'),
  qualifyTaskTypes: context('qualifyTaskTypes') as OverrunSettings['qualifyTaskTypes'] | undefined,
  seasons: context('seasons') === undefined ? undefined : String(context('seasons')) !== 'false',
  seasonZone: context('seasonZone'),
  centralBusAccounts: context('centralBusAccounts')
    ?.split(',')
    .map((account) => account.trim())
    .filter((account) => account !== ''),
};
const assetsDir = path.resolve(context('assetsDir') ?? '../../target/lambda');

new OverrunStack(app, context('stackName') ?? 'Overrun', {
  assetsDir,
  settings: Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)),
});
