/**
 * Smooth weighted round robin (the nginx algorithm): every active member gains its weight, the one with the most
 * running weight is picked and pays back the total. With equal weights this is strict round robin in position
 * order — nobody is picked twice while another active member waits — and over any window of sum(weights) picks each
 * member gets exactly its weight. Inactive members neither gain nor get picked.
 */
export type RotationMember = { userAccessId: number; weight: number; currentWeight: number; active: boolean };

export function pickNext(members: readonly RotationMember[]) {
  const active = members.filter((member) => member.active && member.weight > 0);
  if (active.length === 0) return undefined;
  const total = active.reduce((sum, member) => sum + member.weight, 0);
  let picked: RotationMember | undefined;
  const next = new Map<number, number>();
  for (const member of active) {
    const running = member.currentWeight + member.weight;
    next.set(member.userAccessId, running);
    // Ties go to the earlier position: members arrive in position order.
    if (!picked || running > next.get(picked.userAccessId)!) picked = member;
  }
  next.set(picked!.userAccessId, next.get(picked!.userAccessId)! - total);
  return { userAccessId: picked!.userAccessId, currentWeights: next };
}
