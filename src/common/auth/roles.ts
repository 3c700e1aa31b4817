export enum Role {
  Viewer = 'viewer',
  Editor = 'editor',
  Approver = 'approver',
  Admin = 'admin',
}

export const ROLES: readonly Role[] = [Role.Viewer, Role.Editor, Role.Approver, Role.Admin];

/** What a route needs. Roles grant permissions; routes never name roles directly. */
export enum Permission {
  /** Every read. */
  Read = 'read',
  /** Upload artifacts, register, edit metadata, transitions, production requests. */
  Write = 'write',
  /** Approve or reject production requests. */
  Decide = 'decide',
  /** Delete models and versions; act on any tenant. */
  Administer = 'administer',
}

const GRANTS: Record<Role, readonly Permission[]> = {
  [Role.Viewer]: [Permission.Read],
  [Role.Editor]: [Permission.Read, Permission.Write],
  [Role.Approver]: [Permission.Read, Permission.Decide],
  [Role.Admin]: [Permission.Read, Permission.Write, Permission.Decide, Permission.Administer],
};

export function hasPermission(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((role) => GRANTS[role].includes(permission));
}

/** The roles that grant a permission, for error messages and the API documentation. */
export function rolesGranting(permission: Permission): Role[] {
  return ROLES.filter((role) => GRANTS[role].includes(permission));
}
