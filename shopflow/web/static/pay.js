/* The card step: Stripe's Payment Element mounted with the PaymentIntent's client_secret (from
   the form's data- attributes: no inline script), confirmed with the order page as return_url.
   A Stripe.js without confirmPayment (an older or a local one) gets its card Element instead. */
(() => {
  'use strict';

  const form = document.getElementById('stripe-pay');
  const message = document.getElementById('pay-message');
  const button = document.getElementById('pay-button');
  const say = (text) => { if (message) message.textContent = text; };
  if (!form || !button) return;
  if (typeof window.Stripe !== 'function') {
    say('The card form could not be loaded. Reload the page to try again.');
    return;
  }

  const data = form.dataset;
  const stripe = window.Stripe(data.stripeKey);
  const back = new URL(data.returnPath, window.location.href); // the order page, on this site
  const paymentElement = typeof stripe.confirmPayment === 'function';
  const elements = paymentElement ? stripe.elements({ clientSecret: data.clientSecret }) : stripe.elements();
  const element = elements.create(paymentElement ? 'payment' : 'card');
  element.mount('#payment-element');
  form.hidden = false;
  button.disabled = false;

  async function confirm() {
    if (paymentElement) {
      // on success Stripe sends the browser to return_url; only an error comes back here
      return stripe.confirmPayment({ elements, confirmParams: { return_url: back.href } });
    }
    const result = await stripe.confirmCardPayment(data.clientSecret, { payment_method: { card: element } });
    if (!result.error && result.paymentIntent) {
      back.searchParams.set('payment_intent', result.paymentIntent.id);
      back.searchParams.set('redirect_status', result.paymentIntent.status === 'succeeded' ? 'succeeded' : 'processing');
      window.location.assign(back.href);
    }
    return result;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    say('Paying…');
    let result;
    try {
      result = await confirm();
    } catch (error) {
      result = { error };
    }
    if (result && result.error) {
      say(result.error.message || 'The payment did not go through. Check the details and try again.');
      button.disabled = false;
    }
  });
})();
