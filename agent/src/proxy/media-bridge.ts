import type { SipMessage } from '../sip/message.js';
import type { ProxyInterface } from './interfaces.js';

/** Where an SDP body is going: the call and the two interfaces it crosses. */
export interface MediaLeg {
  readonly callId: string;
  readonly from: ProxyInterface;
  readonly to: ProxyInterface;
}

/**
 * The seam between the proxy and the media layer: every message with a body that crosses from
 * one interface to another (INVITE, 18x/2xx, ACK, re-INVITE, UPDATE, PRACK and their answers) is
 * handed here at one place, before it is sent (and a 2xx to an INVITE without a body: it names
 * the dialog a forked INVITE settled on). The media layer returns the message to send (its
 * SDP rewritten, pinholes opened) or a status to refuse with (488). `onCallEnded` closes a call's
 * streams. `onEarlyDialogEnded` says one branch of an INVITE got a final failure (a fork's 486
 * while another fork may still ring): the early dialog with that To-tag is over.
 */
export interface MediaBridge {
  onSdp<M extends SipMessage>(message: M, leg: MediaLeg): M | number;
  onCallEnded(callId: string, fromTag: string): void;
  onEarlyDialogEnded(callId: string, toTag: string): void;
}

/**
 * Media not anchored (`media.driver: none`, and unit tests of the proxy alone): bodies pass
 * unchanged, nothing is opened.
 */
export const identityMedia: MediaBridge = {
  onSdp: (message) => message,
  onCallEnded: () => {},
  onEarlyDialogEnded: () => {},
};
