/** `/invitations/:token` — accept an invitation (after sign-in). */
export function InvitationPage(_props: { token: string }) {
  return (
    <section className="page">
      <h1>Invitation</h1>
    </section>
  );
}
