import { formatMessageSummary, MAX_MESSAGE_COUNT, parseMessageSummary } from '../../src/domain/message-summary';

describe('RFC 3842 message-summary body', () => {
  it('formats the status line, the account and new/old (urgentNew/urgentOld), CRLF line ends', () => {
    expect(formatMessageSummary('sip:51234@gw1.contoso.com', { newMessages: 2, oldMessages: 8, urgentNew: 0, urgentOld: 2 })).toBe(
      'Messages-Waiting: yes\r\nMessage-Account: sip:51234@gw1.contoso.com\r\nVoice-Message: 2/8 (0/2)\r\n',
    );
  });

  it('says no when nothing is new, even with old messages', () => {
    expect(formatMessageSummary('sip:1@h', { newMessages: 0, oldMessages: 3, urgentNew: 0, urgentOld: 1 })).toMatch(/^Messages-Waiting: no\r\n/);
  });

  it('keeps urgent counts subsets of the totals and caps counts at 2^32-1 (§5.2)', () => {
    const body = formatMessageSummary('sip:1@h', { newMessages: 1, oldMessages: 2 ** 40, urgentNew: 5, urgentOld: -1 });
    expect(body).toContain(`Voice-Message: 1/${MAX_MESSAGE_COUNT} (1/0)`);
  });

  it('parses the RFC example, case-insensitive names, LF line ends, and extra headers after a blank line', () => {
    expect(parseMessageSummary('Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\nVoice-Message: 2/8 (0/2)\r\n')).toEqual({
      messagesWaiting: true,
      account: 'sip:alice@vmail.example.com',
      newMessages: 2,
      oldMessages: 8,
      urgentNew: 0,
      urgentOld: 2,
    });
    expect(parseMessageSummary('messages-waiting: no\nvoice-message: 0/1\n\nTo: x\n')).toMatchObject({ messagesWaiting: false, oldMessages: 1 });
    expect(parseMessageSummary('Messages-Waiting: yes\r\nVoice-Message: 99999999999/0\r\n')!.newMessages).toBe(MAX_MESSAGE_COUNT);
  });

  it('rejects a body without a valid status line', () => {
    expect(parseMessageSummary('Voice-Message: 1/0\r\n')).toBeNull();
    expect(parseMessageSummary('Messages-Waiting: maybe\r\n')).toBeNull();
    expect(parseMessageSummary('Messages-Waiting: yes\r\nVoice-Message: x/y\r\n')).toBeNull();
  });
});
