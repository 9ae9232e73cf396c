/** Real SDP offers, as the peers we test against write them (CRLF line ends, as on the wire). */

const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';

/** SIPp 3.6 `-sn uac` (its built-in scenario): PCMU only, no telephone-event, no direction. */
export const SIPP_DEFAULT = crlf([
  'v=0',
  'o=user1 53655765 2353687637 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 6000 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
]);

/** baresip 1.x/2.x with its default codec list: Opus and G.722 first, then G.711, telephone-event 101. */
export const BARESIP = crlf([
  'v=0',
  'o=- 1434018423 2052394916 IN IP4 192.168.1.20',
  's=-',
  'c=IN IP4 192.168.1.20',
  't=0 0',
  'm=audio 10636 RTP/AVP 96 9 0 8 101',
  'b=AS:512',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:1447289356 cname:57ef2f2e-2c2e-4ed7-9e5c-2b8c4f3a36a8',
  'a=rtcp-rsize',
]);

/** A gateway offering PCMA only (European trunk), telephone-event 100, ptime 20. */
export const PCMA_ONLY = crlf([
  'v=0',
  'o=AudiocodesGW 1889366 1889248 IN IP4 10.0.0.5',
  's=Phone-Call',
  'c=IN IP4 10.0.0.5',
  't=0 0',
  'm=audio 6010 RTP/AVP 8 100',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:100 telephone-event/8000',
  'a=fmtp:100 0-15',
  'a=ptime:20',
  'a=sendrecv',
]);

/** PCMA before PCMU, no telephone-event, ptime 30 (SIPp's g711a.pcap packet time). */
export const NO_TELEPHONE_EVENT = crlf([
  'v=0',
  'o=- 42 42 IN IP4 203.0.113.9',
  's=-',
  'c=IN IP4 203.0.113.9',
  't=0 0',
  'm=audio 30000 RTP/AVP 8 0',
  'a=ptime:30',
]);

/** A re-INVITE putting us on hold (RFC 3264 §8.4): a=sendonly. */
export const HOLD_SENDONLY = crlf([
  'v=0',
  'o=- 1434018423 2052394917 IN IP4 192.168.1.20',
  's=-',
  'c=IN IP4 192.168.1.20',
  't=0 0',
  'm=audio 10636 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendonly',
]);

/** RFC 2543-style hold: c=0.0.0.0. */
export const HOLD_ZERO_ADDRESS = crlf([
  'v=0',
  'o=- 7 8 IN IP4 192.168.1.20',
  's=-',
  'c=IN IP4 0.0.0.0',
  't=0 0',
  'm=audio 10636 RTP/AVP 0 101',
  'a=rtpmap:101 telephone-event/8000',
]);

/** Only codecs we cannot speak (G.729, Opus): the answer is 488. */
export const NO_G711 = crlf([
  'v=0',
  'o=- 1 1 IN IP4 10.1.1.1',
  's=-',
  'c=IN IP4 10.1.1.1',
  't=0 0',
  'm=audio 4000 RTP/AVP 18 96',
  'a=rtpmap:18 G729/8000',
  'a=rtpmap:96 opus/48000/2',
]);

/** Audio and video; the connection line at media level only. */
export const AUDIO_AND_VIDEO = crlf([
  'v=0',
  'o=- 5 5 IN IP4 10.2.2.2',
  's=-',
  't=0 0',
  'm=video 5002 RTP/AVP 97',
  'c=IN IP4 10.2.2.2',
  'a=rtpmap:97 H264/90000',
  'a=mid:v',
  'm=audio 5000 RTP/AVP 0 101',
  'c=IN IP4 10.2.2.3',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=mid:a',
]);

/** SRTP only (RTP/SAVP): we cannot speak it. */
export const SRTP_ONLY = crlf([
  'v=0',
  'o=- 9 9 IN IP4 10.3.3.3',
  's=-',
  'c=IN IP4 10.3.3.3',
  't=0 0',
  'm=audio 7000 RTP/SAVP 0',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR',
]);
