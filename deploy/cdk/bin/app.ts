#!/usr/bin/env node
/* The CDK app: `npx cdk synth -c stage=prod -c region=eu-west-1` (deploy/README.md). */
import { App } from 'aws-cdk-lib';

import { buildGateway } from '../lib/app';

const app = new App();
buildGateway(app);
app.synth();
