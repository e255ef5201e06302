/** The one rule for hiding secrets in what ganstudy prints or writes: a user:password in any URI shows as user:***. */
export function redactSecrets(text: string): string {
  return text.replace(/(\/\/[^:/@\s]+):[^@/\s]*@/g, '$1:***@');
}
