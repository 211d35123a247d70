import { FlowWrapper } from '@flow/core';

/**
 * A flow that forwards everything to another one. The suite's self-tests subclass it to break
 * one part of the contract on purpose and check that the suite notices.
 */
export class WrappedFlow extends FlowWrapper {}
