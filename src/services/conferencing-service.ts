/**
 * Dial-in conferencing leader PINs (Teams / Skype for Business, seed 003, [T-USER], [T-TEN]): a reset generates a
 * PIN of the tenant's PinLength (4–12, default 5; a length change applies only to newly generated PINs), shows it
 * to the administrator once, and mails it when -SendEmail is given or AutomaticallySendEmailsToUsers is on.
 * Afterwards only `*****` is shown. Leader PINs are stored as scrypt hashes, like mailbox PINs.
 */
import { hashPin, verifyPin } from '../domain/pin-hash';
import { generatePin } from '../domain/pin-policy';
import type { Mailer } from '../ports/mailer';
import type { ConferencingRepository, ConferencingUser } from '../ports/store/conferencing';
import type { PinHashing } from '../ports/store/settings';

/** What {@link ConferencingService} needs of the store: the conferencing repository and the PIN-hash cost. */
export type ConferencingServiceStore = Pick<ConferencingRepository, 'getConferencingUser' | 'getTenantSettings' | 'updateConferencingUser'> & PinHashing;

/** What Set-CsOnlineDialInConferencingUser asks for. */
export interface SetConferencingUserOptions {
  resetLeaderPin?: boolean;
  /** -SendEmail given; the tenant's AutomaticallySendEmailsToUsers applies when undefined. */
  sendEmail?: boolean;
  /** Mail this address instead of the user's (requires sendEmail, checked by the cmdlet). */
  sendEmailToAddress?: string;
  allowPstnOnlyMeetings?: boolean;
}

/** Dial-in conferencing users' leader PINs: the administrator's reset and the check of a PIN entered by phone. */
export class ConferencingService {
  /**
   * @param store the conferencing repository (and the PIN-hash cost)
   * @param mailer where leader-PIN mails go
   */
  constructor(
    private readonly store: ConferencingServiceStore,
    private readonly mailer: Mailer,
  ) {}

  /**
   * Set-CsOnlineDialInConferencingUser: optionally resets the leader PIN and changes AllowPSTNOnlyMeetings.
   * @returns the updated user, and the new PIN in clear (to show this one time) when it was reset
   * @throws VaError VA_ERR_NOT_FOUND, VA_ERR_MAIL_SEND (the PIN was reset; it is in the returned object)
   */
  async setUser(identity: string, opts: SetConferencingUserOptions): Promise<{ user: ConferencingUser; leaderPin?: string }> {
    const user = await this.store.getConferencingUser(identity);
    const tenant = await this.store.getTenantSettings();
    let pin: string | undefined;
    let leaderPinHash: string | undefined;
    if (opts.resetLeaderPin) {
      pin = generatePin({ minPinLength: tenant.pinLength, allowCommonPatterns: false });
      leaderPinHash = await hashPin(pin, this.store.pinHashCost);
    }
    const updated = await this.store.updateConferencingUser(user.identity, { leaderPinHash, allowPstnOnlyMeetings: opts.allowPstnOnlyMeetings });
    if (pin !== undefined && (opts.sendEmail ?? tenant.automaticallySendEmailsToUsers)) {
      const { accessNumbers } = tenant;
      await this.mailer.send({
        to: opts.sendEmailToAddress ?? updated.identity,
        subject: 'Your audio conferencing PIN',
        text:
          `Your audio conferencing PIN has been reset.\n\nPIN: ${pin}\n` +
          (accessNumbers.length ? `Dial-in number: ${accessNumbers.join(', ')}\n` : '') +
          `\nUse this PIN to start your meetings by phone.\n`,
      });
    }
    return { user: updated, leaderPin: pin };
  }

  /** Checks a leader PIN entered by phone against the organizer's stored hash. */
  async verifyLeaderPin(identity: string, pin: string): Promise<boolean> {
    const u = await this.store.getConferencingUser(identity);
    return u.leaderPinHash !== null && verifyPin(pin, u.leaderPinHash);
  }
}
