/** Assertions about synchronous JetError throws (engine helpers cover promises). */
import { expect } from 'chai';
import { JetError, type JetErrName } from '../../src/errors.js';

/** Call `fn`, expect it to throw a JetError named `name`, and return the error. */
export function expectJetThrow(fn: () => unknown, name: JetErrName): JetError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) expect.fail(`expected ${name}, but nothing was thrown`);
  expect(thrown, String(thrown)).to.be.instanceOf(JetError);
  const je = thrown as JetError;
  expect(je.errName, je.message).to.equal(name);
  return je;
}
