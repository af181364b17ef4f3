/* ShopFlow storefront: small enhancements over pages that work without JavaScript.
   Cart forms are sent with fetch to the same endpoints the plain forms use; the page they
   redirect to is read for the new cart, its count and its notice, which is announced in the
   page's polite live region. Anything unexpected falls back to the plain form. */
(() => {
  'use strict';

  const live = document.getElementById('live');
  const CART_FORMS = 'form[method="post"][action^="/cart/items"]';
  let queue = Promise.resolve(); // cart changes go one after another, in the order made

  function announce(text) {
    if (!live || !text) return;
    live.textContent = '';
    // a changed text is what assistive technology announces: clear it, then set it
    window.setTimeout(() => { live.textContent = text; }, 60);
  }

  function copyChildren(target, source) {
    target.replaceChildren(...Array.from(source.childNodes, (node) => document.importNode(node, true)));
  }

  function noticeOf(doc) {
    const notice = doc.querySelector('main .notice');
    return notice ? notice.textContent.replace(/\s+/g, ' ').trim() : '';
  }

  function updateCount(doc) {
    const mine = document.getElementById('cart-count');
    const fresh = doc.getElementById('cart-count');
    if (mine && fresh) copyChildren(mine, fresh);
  }

  function focusAfterSwap(main, id) {
    const again = id ? document.getElementById(id) : null;
    if (again && !again.disabled) {
      again.focus();
      return;
    }
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus();
    }
  }

  function swapCart(doc) {
    const main = document.getElementById('main');
    const fresh = doc.getElementById('main');
    if (!main || !fresh) return;
    const focused = document.activeElement && document.activeElement.id;
    copyChildren(main, fresh);
    // the live region below says what changed: the notice copied in is not a second one
    main.querySelectorAll('[role="status"]').forEach((node) => node.removeAttribute('role'));
    enhanceSteppers(main);
    focusAfterSwap(main, focused);
  }

  function showAdded(form, text) {
    let note = form.nextElementSibling;
    if (!note || !note.classList.contains('added')) {
      note = document.createElement('p');
      note.className = 'notice added';
      form.after(note);
    }
    const link = document.createElement('a');
    link.href = '/cart';
    link.textContent = 'View your cart';
    note.replaceChildren(document.createTextNode(text + ' '), link);
  }

  async function send(form, body) {
    const response = await fetch(form.action, {
      method: 'POST',
      body,
      credentials: 'same-origin',
      headers: { Accept: 'text/html' },
    });
    if (!response.ok || !response.redirected) {
      form.submit(); // refused (an expired form): the plain post shows the page that says why
      return;
    }
    const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
    const text = noticeOf(doc);
    updateCount(doc);
    if (document.querySelector('table.cart, main .empty') && new URL(response.url).pathname === '/cart') {
      swapCart(doc);
    } else {
      showAdded(form, text);
    }
    announce(text);
  }

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches(CART_FORMS) || !window.fetch) return;
    event.preventDefault();
    const body = new FormData(form);
    if (event.submitter && event.submitter.name) body.append(event.submitter.name, event.submitter.value);
    queue = queue
      .then(() => send(form, body))
      .catch(() => announce('Your cart could not be changed. Check your connection and try again.'));
  });

  /* Quantity steppers: a − and a + button beside each quantity; each sends the form. */
  function stepButton(text, label, id) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'step';
    button.id = id;
    button.textContent = text;
    button.setAttribute('aria-label', label);
    return button;
  }

  function enhanceSteppers(root) {
    root.querySelectorAll('form.qty').forEach((form) => {
      const input = form.querySelector('input[name="quantity"]');
      const label = form.querySelector('label');
      if (!input || form.querySelector('.step')) return;
      const name = label ? label.textContent.replace(/^Quantity of\s*/, '') : '';
      const key = input.id || name;
      const less = stepButton('−', `One less ${name}`, `less-${key}`);
      const more = stepButton('+', `One more ${name}`, `more-${key}`);
      const step = (by) => {
        const now = Number.parseInt(input.value, 10) || 0;
        const next = Math.min(99, Math.max(0, now + by));
        if (next === now) return;
        input.value = String(next);
        form.requestSubmit();
      };
      less.addEventListener('click', () => step(-1));
      more.addEventListener('click', () => step(1));
      input.before(less);
      input.after(more);
      form.classList.add('stepped');
    });
  }

  /* The category menu on a small screen: a disclosure button (the list shows without JS). */
  function enhanceMenu() {
    const nav = document.getElementById('categories');
    const list = document.getElementById('category-list');
    if (!nav || !list) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'menu-button';
    button.textContent = 'Categories';
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-controls', 'category-list');
    const toggle = (open) => {
      button.setAttribute('aria-expanded', String(open));
      nav.classList.toggle('open', open);
    };
    button.addEventListener('click', () => toggle(button.getAttribute('aria-expanded') !== 'true'));
    nav.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && nav.classList.contains('open')) {
        toggle(false);
        button.focus();
      }
    });
    nav.prepend(button);
    nav.classList.add('menu');
  }

  enhanceSteppers(document);
  enhanceMenu();
})();
