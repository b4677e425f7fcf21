/**
 * The dashboard's change forms (owner: the changes engineer), mounted by the shell's pages with
 * the props of the plan's contract. Each hides the controls the role cannot use; the server
 * refuses anyway.
 */
export { AgentActions, SiteActions } from './Actions.js';
export { AuditLogView } from './AuditLogView.js';
export { MembersView } from './MembersView.js';
export { PolicyEditor } from './PolicyEditor.js';
export { PushPanel } from './PushPanel.js';
export { SipUserDetail, SipUsersPanel } from './SipUsers.js';
